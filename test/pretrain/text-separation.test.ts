import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { KEEPER_BASES, KEEPER_FIRST_BASE, KEEPER_POOL, attributeSeparation, frozenSpread, keeperFirstScene, relativeSpread, separationCaptions, separationHinge, separationKeeper } from '../../lib/pretrain/text-separation';
import { TextConditioner } from '../../lib/pretrain/text-cond';
import { worldVocabulary } from '../../lib/world/vocabulary';
import { expectNoLeak } from '../helpers/leak';
import { DETEX_MINI as MINI } from '../helpers/pretrain-paths';


describe('pretrain/text-separation', () => {
  it('should average the pairwise distance relative to the pair’s rms norm', async () => {
    await expectNoLeak(() => {
      // a = b = (3,4), c = (−3,−4): a–b 0; a–c ‖(6,8)‖ = 10 over an rms norm of 5 → 2; b–c 2
      const h = tf.tensor3d([[[3, 4]], [[3, 4]], [[-3, -4]]]);
      assert.ok(Math.abs(relativeSpread(h) - 4 / 3) < 1e-5);
      const orth = tf.tensor3d([[[1, 0]], [[0, 1]]]);
      assert.ok(Math.abs(relativeSpread(orth) - Math.SQRT2) < 1e-5);
      assert.throws(() => tf.tidy(() => relativeSpread(tf.zeros([1, 2, 2]) as tf.Tensor3D)), /at least 2 captions, got 1/);
      tf.dispose([h, orth]);
    });
  });

  it('should ask swapped states to move by τ relative to the true ones, and be zero beyond it', async () => {
    await expectNoLeak(() => {
      const read = (a: number[], b: number[], tau: number) =>
        tf.tidy(() => separationHinge(tf.tensor3d(a, [1, 1, a.length]), tf.tensor3d(b, [1, 1, b.length]), tau).dataSync()[0]);
      assert.ok(Math.abs(read([3, 4], [3, 4], 0.5) - 0.5) < 1e-6); // no move: the whole τ
      assert.ok(Math.abs(read([3, 4], [3, 5], 0.5) - 0.3) < 1e-6); // moved by 1/5
      assert.strictEqual(read([3, 4], [0, 0], 0.5), 0); // moved by 1 ≥ τ
      // the gradient pushes the swapped states away from the true ones
      const g = tf.tidy(() => Array.from(tf.grad((b: tf.Tensor) => separationHinge(tf.tensor3d([[[3, 4]]]), b as tf.Tensor3D, 0.5))(tf.tensor3d([[[3, 5]]])).dataSync()));
      assert.ok(g[1] < 0 && Math.abs(g[0]) < 1e-6, `gradient ${g}`);
      assert.throws(() => tf.tidy(() => separationHinge(tf.zeros([1, 2, 2]) as tf.Tensor3D, tf.zeros([1, 3, 2]) as tf.Tensor3D, 0.5)), /\[1,2,2\] against swapped \[1,3,2\]/);
      assert.throws(() => tf.tidy(() => separationHinge(tf.zeros([1, 2, 2]) as tf.Tensor3D, tf.zeros([1, 2, 2]) as tf.Tensor3D, -1)), /τ must be a finite number ≥ 0, got -1/);
    });
  });

  it('should build caption groups that differ in the one attribute word only', () => {
    const voc = worldVocabulary();
    const groups = separationCaptions(3);
    assert.strictEqual(groups.class.length, 3);
    assert.strictEqual(groups.class[0].length, voc.classes.length);
    assert.strictEqual(groups.colour[1].length, voc.colours.length);
    assert.strictEqual(groups.pattern[2].length, 3); // the worded patterns; plain has no word
    assert.strictEqual(groups.background[0].length, voc.backgrounds.length);
    for (const list of Object.values(groups).flat()) {
      // all distinct, and alike but for at most 3 words in one place (the value, its "a"/"an", "brick wall")
      assert.strictEqual(new Set(list).size, list.length, list.join(' | '));
      const words = list.map((c) => c.split(' '));
      let pre = 0;
      while (words.every((w) => w[pre] === words[0][pre])) pre++;
      let suf = 0;
      while (words.every((w) => w.length - suf > pre && w[w.length - 1 - suf] === words[0][words[0].length - 1 - suf])) suf++;
      assert.ok(words.every((w) => w.length - pre - suf <= 3), list.join(' | '));
    }
    assert.ok(groups.pattern[0].some((c) => c.includes(' striped ')) && groups.pattern[0].some((c) => c.includes(' dotted ')));
  });

  it('should keep an attribute\'s separation at the reference: zero there, and a gradient that spreads the captions below it', async () => {
    // a toy encoder: a shared vector plus w × a vector of the caption's own (separation grows with w)
    const own = (c: string) => Array.from({ length: 8 }, (_, k) => Math.sin((k + 1) * [...c].reduce((a, ch) => a + ch.charCodeAt(0) * 7, 0)));
    const encoder = (w: tf.Tensor) => (captions: string[]) =>
      tf.tidy(() => tf.add(tf.ones([captions.length, 1, 8]), tf.mul(w, tf.tensor3d(captions.map((c) => [own(c)])))) as tf.Tensor3D);
    await expectNoLeak(() => {
      const w1 = tf.scalar(1);
      const reference = frozenSpread(encoder(w1));
      const same = separationKeeper(encoder(w1), reference, ['colour', 'background'], KEEPER_FIRST_BASE);
      assert.strictEqual(same.loss.dataSync()[0], 0);
      assert.ok(Math.abs(same.separation.colour.dataSync()[0] - same.reference.colour) < 1e-4);
      const loss = (w: tf.Tensor) => separationKeeper(encoder(w), reference, ['colour', 'background'], KEEPER_FIRST_BASE).loss;
      const w = tf.scalar(0.5);
      const below = tf.tidy(() => loss(w).dataSync()[0]);
      assert.ok(below > 0.1, `below the reference: ${below}`);
      const g = tf.tidy(() => tf.grad(loss)(w).dataSync()[0]);
      assert.ok(Number.isFinite(g) && g < 0, `the gradient spreads the captions: ${g}`);
      // above the reference on average is not enough: each group pays its own shortfall
      const firstScene = separationCaptions(KEEPER_BASES, KEEPER_FIRST_BASE).colour[0];
      const mixed = separationKeeper((c) => encoder(c[0] === firstScene[0] ? tf.scalar(0.8) : tf.scalar(4))(c), reference, ['colour'], KEEPER_FIRST_BASE);
      assert.ok(mixed.separation.colour.dataSync()[0] > mixed.reference.colour && mixed.loss.dataSync()[0] > 0, 'a scene below its reference pays beside one above');
      assert.throws(() => separationKeeper(encoder(w), reference, [], KEEPER_FIRST_BASE), /no attributes to keep/);
      // the frozen reference is measured once per caption group, however often the walk comes back
      let calls = 0;
      const counted = frozenSpread((c) => (calls++, encoder(w1)(c)));
      const again = [0, 1].map(() => separationKeeper(encoder(w1), counted, ['colour'], KEEPER_FIRST_BASE));
      assert.strictEqual(calls, KEEPER_BASES, 'one colour group per base scene, measured once');
      assert.strictEqual(again[1].reference.colour, same.reference.colour);
      tf.dispose(again.flatMap((k) => [k.loss, ...Object.values(k.separation)]));
      tf.dispose([w1, w, same.loss, ...Object.values(same.separation), mixed.loss, ...Object.values(mixed.separation)]);
    });
  });

  it('should walk the keeper through base scenes other than the measurement\'s', () => {
    assert.strictEqual(keeperFirstScene(0), KEEPER_FIRST_BASE);
    assert.strictEqual(keeperFirstScene(1), KEEPER_FIRST_BASE + KEEPER_BASES);
    assert.strictEqual(keeperFirstScene(KEEPER_POOL / KEEPER_BASES), KEEPER_FIRST_BASE); // the walk repeats
    assert.throws(() => keeperFirstScene(-1), /step must be an integer ≥ 0, got -1/);
    const measured = new Set(Object.values(separationCaptions(4)).flat(2));
    const kept = new Set(Object.values(separationCaptions(KEEPER_POOL, KEEPER_FIRST_BASE)).flat(2));
    assert.ok([...kept].filter((c) => measured.has(c)).length < kept.size / 8, 'mostly new captions');
    assert.ok(kept.size > 10 * measured.size / 4, `many scenes' captions: ${kept.size}`);
  });

  it('should measure every attribute of the shipped text encoder', async () => {
    if (!fs.existsSync(path.join(MINI, 'text_encoder', 'model.safetensors'))) return;
    const text = TextConditioner.load(MINI, path.join(MINI, 'tokenizer'));
    try {
      const sep = await expectNoLeak(() => attributeSeparation((c) => text.embed(c), 2));
      for (const [k, v] of Object.entries(sep)) assert.ok(v > 0 && v <= 2, `${k} ${v}`);
      // a constant encoder separates nothing
      const flat = attributeSeparation((c) => tf.ones([c.length, 77, 4]) as tf.Tensor3D, 1);
      assert.deepStrictEqual(Object.values(flat), [0, 0, 0, 0]);
    } finally {
      text.dispose();
    }
  });
});
