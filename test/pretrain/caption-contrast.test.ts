import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { captionContrastLoss, contrastedItems, parseContrastAttributes, parseTimestepWindow, swapCaptionWord } from '../../lib/pretrain/caption-contrast';
import { worldBatch } from '../../lib/pretrain/world-data';
import { Rng } from '../../lib/random';
import { worldVocabulary } from '../../lib/world';
import { expectNoLeak } from '../helpers/leak';

const voc = worldVocabulary();
const classes: readonly string[] = voc.classes;
const diffWords = (a: string, b: string) => {
  const x = a.split(' ');
  const y = b.split(' ');
  return { removed: x.filter((w) => !y.includes(w)), added: y.filter((w) => !x.includes(w)) };
};

describe('pretrain/caption-contrast', () => {
  it('should swap only the class word, for another class', () => {
    const rng = new Rng(1);
    const caption = 'a photo of an orange striped ball with tilted pose in grass background';
    const seen = new Set<string>();
    for (let k = 0; k < 60; k++) {
      const s = swapCaptionWord(caption, 'class', rng)!;
      const d = diffWords(caption, s);
      assert.deepStrictEqual(d.removed, ['ball'], s);
      assert.strictEqual(d.added.length, 1, s);
      assert.ok(classes.includes(d.added[0]) && d.added[0] !== 'ball', s);
      seen.add(d.added[0]);
    }
    assert.strictEqual(seen.size, voc.classes.length - 1, 'every other class gets drawn');
  });

  it('should swap the pattern word, removing it for plain and inserting one for a plain subject', () => {
    const rng = new Rng(2);
    const striped = 'a photo of a red striped cup with tilted pose in sand background';
    const results = new Set(Array.from({ length: 60 }, () => swapCaptionWord(striped, 'pattern', rng)));
    assert.deepStrictEqual([...results].sort(), [
      'a photo of a red checked cup with tilted pose in sand background',
      'a photo of a red cup with tilted pose in sand background',
      'a photo of a red dotted cup with tilted pose in sand background',
    ]);
    const plain = 'a photo of a red cup with tilted pose in sand background';
    const fromPlain = new Set(Array.from({ length: 60 }, () => swapCaptionWord(plain, 'pattern', rng)));
    assert.deepStrictEqual([...fromPlain].sort(), [
      'a photo of a red checked cup with tilted pose in sand background',
      'a photo of a red dotted cup with tilted pose in sand background',
      'a photo of a red striped cup with tilted pose in sand background',
    ]);
  });

  it('should swap the colour word for every other colour, keeping the article right', () => {
    const rng = new Rng(6);
    const caption = 'a photo of an orange striped ball with tilted pose in grass background';
    const seen = new Set<string>();
    for (let k = 0; k < 100; k++) {
      const s = swapCaptionWord(caption, 'colour', rng)!;
      const w = s.split(' ');
      assert.ok(voc.colours.includes(w[4]) && w[4] !== 'orange', s);
      assert.strictEqual(w[3], /^[aeiou]/.test(w[4]) ? 'an' : 'a', s);
      assert.strictEqual(w.slice(5).join(' '), 'striped ball with tilted pose in grass background', s);
      seen.add(w[4]);
    }
    assert.strictEqual(seen.size, voc.colours.length - 1, 'every other colour gets drawn');
  });

  it('should leave the dropped caption alone and be deterministic per rng', () => {
    assert.strictEqual(swapCaptionWord('', 'class', new Rng(3)), undefined);
    const caption = 'a photo of a blue dotted star with upright pose in snow background';
    assert.strictEqual(swapCaptionWord(caption, 'pattern', new Rng(4)), swapCaptionWord(caption, 'pattern', new Rng(4)));
  });

  it('should swap a real training caption of every class and pattern', () => {
    const b = worldBatch(new Rng(5), { batch: 24, size: 32 });
    for (const [i, caption] of b.captions.entries()) {
      const subject = b.scenes[i].spec.subject;
      const c = swapCaptionWord(caption, 'class', new Rng(i))!;
      assert.ok(!c.split(' ').includes(subject.cls), `${caption} → ${c}`);
      const p = swapCaptionWord(caption, 'pattern', new Rng(i))!;
      assert.notStrictEqual(p, caption);
      assert.ok(p.split(' ').includes(subject.cls) && p.split(' ').includes(subject.colour), `${caption} → ${p}`);
      const k = swapCaptionWord(caption, 'colour', new Rng(i))!;
      assert.ok(!k.split(' ').includes(subject.colour) && k.split(' ').includes(subject.cls), `${caption} → ${k}`);
    }
  });

  it('should be zero once the swapped caption is worse by the margin, and relative to the true error otherwise', async () => {
    await expectNoLeak(() => {
      const eTrue = tf.tensor1d([0.1, 0.1, 2.0]);
      const eSwap = tf.tensor1d([0.2, 0.1, 2.0]);
      const l = captionContrastLoss(eTrue, eSwap, 0.05);
      // item 0 is past the margin; items 1 and 2 owe 5 % of their own error whatever its scale
      assert.ok(Math.abs(l.dataSync()[0] - (0 + 0.05 + 0.05) / 3) < 1e-6, String(l.dataSync()[0]));
      tf.dispose([eTrue, eSwap, l]);
    });
  });

  it('should push the true error down and the swapped error up, with no gradient through the scale', async () => {
    await expectNoLeak(() => {
      const eTrue = tf.tensor1d([0.5]);
      const eSwap = tf.tensor1d([0.5]);
      const [gTrue, gSwap] = tf.grads((a: tf.Tensor, b: tf.Tensor) => captionContrastLoss(a as tf.Tensor1D, b as tf.Tensor1D, 0.1))([eTrue, eSwap]);
      // d/da relu(1.1a − b)/sg(a) = 1.1 / a; d/db = −1 / a
      assert.ok(Math.abs(gTrue.dataSync()[0] - 1.1 / 0.5) < 1e-4, String(gTrue.dataSync()[0]));
      assert.ok(Math.abs(gSwap.dataSync()[0] + 1 / 0.5) < 1e-4, String(gSwap.dataSync()[0]));
      tf.dispose([eTrue, eSwap, gTrue, gSwap]);
    });
  });

  it('should name a bad margin or mismatched lengths', () => {
    const a = tf.tensor1d([1, 2]);
    const b = tf.tensor1d([1]);
    assert.throws(() => captionContrastLoss(a, a, -1), /margin must be a finite number ≥ 0, got -1/);
    assert.throws(() => captionContrastLoss(a, b, 0.1), /2 true-caption errors against 1 swapped/);
    tf.dispose([a, b]);
  });

  it('should read a timestep window and keep only the swapped items whose timestep is inside it', () => {
    assert.deepStrictEqual(parseTimestepWindow(' 250, 550', 1000), { first: 250, last: 550 });
    assert.deepStrictEqual(parseTimestepWindow('0,999', 1000), { first: 0, last: 999 });
    for (const bad of ['550,250', '0,1000', '-1,5', '250', '250,550,600', '2.5,9', 'a,b']) {
      assert.throws(() => parseTimestepWindow(bad, 1000), new RegExp(`--contrast-timesteps: give FIRST,LAST, whole timesteps with 0 ≤ FIRST ≤ LAST < 1000; got '${bad}'`));
    }
    const swapped = ['a', undefined, 'c', 'd', 'e'];
    const timesteps = [100, 300, 249, 550, 551];
    assert.deepStrictEqual(contrastedItems(swapped, timesteps), [0, 2, 3, 4]);
    assert.deepStrictEqual(contrastedItems(swapped, timesteps, { first: 250, last: 550 }), [3]);
    assert.deepStrictEqual(contrastedItems(swapped, timesteps, { first: 0, last: 999 }), [0, 2, 3, 4]);
    assert.throws(() => contrastedItems(swapped, [1, 2]), /5 captions against 2 timesteps/);
  });

  it('should parse the attributes to swap and name a bad one', () => {
    assert.deepStrictEqual(parseContrastAttributes('class,pattern'), ['class', 'pattern']);
    assert.deepStrictEqual(parseContrastAttributes(' pattern , pattern'), ['pattern']);
    assert.deepStrictEqual(parseContrastAttributes('class,pattern,colour'), ['class', 'pattern', 'colour']);
    assert.throws(() => parseContrastAttributes('shape'), /swap one or more of class, pattern, colour; got 'shape'/);
    assert.throws(() => parseContrastAttributes(''), /got ''/);
  });
});
