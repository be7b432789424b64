import * as assert from 'assert';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { attributeTokenPositions, parseAttendedAttributes, wordAttentionLoss } from '../../lib/pretrain/word-attention';
import { TextConditioner } from '../../lib/pretrain/text-cond';
import { defaultModelDir } from '../../lib/models/default-model';
import { expectNoLeak } from '../helpers/leak';

const ROOT = path.resolve(__dirname, '..', '..', '..');

describe('pretrain/word-attention (the subject must look at its pattern word)', () => {
  let text: TextConditioner;
  before(() => {
    text = TextConditioner.load(defaultModelDir(), path.join(ROOT, 'models', 'detex-tiny', 'tokenizer'));
  });
  after(() => text.dispose());

  it("finds each caption's attribute word among its tokens, and none where the caption has none", () => {
    const captions = [
      'a photo of a red striped ball with tilted pose in grass background',
      'a photo of an orange ball with upright pose in sky background',
      '',
      'a photo of a blue checked cup with facing left pose in wooden floor background',
    ];
    const ids = text.tokenIds(captions);
    const pattern = attributeTokenPositions(captions, ids, 'pattern', (w) => text.wordIds(w));
    assert.deepStrictEqual(pattern.map((p) => p.length > 0), [true, false, false, true]);
    // the positions hold exactly the word's own ids
    assert.deepStrictEqual(pattern[0].map((p) => ids[0][p]), text.wordIds('striped'));
    assert.deepStrictEqual(pattern[3].map((p) => ids[3][p]), text.wordIds('checked'));
    const cls = attributeTokenPositions(captions, ids, 'class', (w) => text.wordIds(w));
    assert.deepStrictEqual(cls[1].map((p) => ids[1][p]), text.wordIds('ball'));
    assert.ok(cls[1][0] > pattern[0][0] - 2, 'the class comes after the colour');
    assert.throws(() => attributeTokenPositions(['a red striped ball'], [[49406, 49407]], 'pattern', (w) => text.wordIds(w)), /"striped" \(ids .*\) is not in the tokens of "a red striped ball"/);
    assert.deepStrictEqual(parseAttendedAttributes('pattern, class,pattern'), ['pattern', 'class']);
    assert.throws(() => parseAttendedAttributes('shape'), /attend one or more of pattern, class, colour; got 'shape'/);
  });

  it('is the hinge on the subject-weighted share of the word, zero once the word gets its share, and has gradients', async () => {
    // 2 items, one 4×4 layer over 3 keys; the mask covers the left half of an 8-px image
    const mask = new Float32Array(2 * 8 * 8);
    for (let i = 0; i < 2; i++) for (let y = 0; y < 8; y++) for (let x = 0; x < 4; x++) mask[i * 64 + y * 8 + x] = 1;
    await expectNoLeak(() => {
      const masks = tf.tensor4d(mask, [2, 8, 8, 1]);
      const logits = tf.tidy(() => tf.variable(tf.zeros([2, 4, 4, 3])));
      // item 0 looks at key 1 with 1/3 everywhere; item 1 has no word
      const positions = [[1], []];
      const { value, grads } = tf.variableGrads(() => {
        const maps = { 'down_blocks.0.attentions.0.transformer_blocks.0.attn2': tf.softmax(logits) as tf.Tensor4D };
        const r = wordAttentionLoss(maps, positions, masks, 0.5)!;
        const share = r.share.dataSync()[0];
        assert.ok(Math.abs(share - 1 / 3) < 1e-6, `share ${share}`);
        return r.loss;
      }, [logits]);
      assert.ok(Math.abs(value.dataSync()[0] - (0.5 - 1 / 3)) < 1e-6);
      const g = grads[logits.name].arraySync() as number[][][][];
      // only item 0's subject pixels (left half) get a gradient, raising key 1 against the others
      assert.ok(g[0][0][0][1] < 0 && g[0][0][0][0] > 0, 'descent raises the word on the subject');
      assert.ok(g[0][0][3].every((v) => v === 0), 'nothing outside the subject');
      assert.ok(g[1].flat(2).every((v) => v === 0), 'nothing for an item without the word');
      // past the target the term is 0
      tf.tidy(() => {
        const done = wordAttentionLoss({ x: tf.softmax(tf.tile(tf.tensor4d([0, 5, 0], [1, 1, 1, 3]), [2, 4, 4, 1])) as tf.Tensor4D }, positions, masks, 0.5)!;
        assert.strictEqual(done.loss.dataSync()[0], 0);
        assert.strictEqual(wordAttentionLoss({ x: tf.zeros([2, 4, 4, 3]) as tf.Tensor4D }, [[], []], masks, 0.5), undefined);
      });
      for (const t of [value, ...Object.values(grads), masks, logits]) t.dispose();
    });
  });
});
