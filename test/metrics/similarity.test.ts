import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { clipTextScore, cosine, evaluateImages, meanPairwiseCosine } from '../../lib/metrics/similarity';
import { expectNoLeak } from '../helpers/leak';

describe('metrics/similarity', () => {
  it('should compute cosines, CLIP-I and CLIP-T means', () => {
    const a = Float32Array.from([1, 0]);
    const b = Float32Array.from([1, 1]);
    assert.ok(Math.abs(cosine(a, b) - Math.SQRT1_2) < 1e-7);
    assert.ok(Math.abs(meanPairwiseCosine([a, b], [a]) - (1 + Math.SQRT1_2) / 2) < 1e-7);
    assert.ok(Math.abs(clipTextScore([a, b], b) - (Math.SQRT1_2 + 1) / 2) < 1e-7);
  });
  it('should feed (FG) scores the masked inputs', async () => {
    await expectNoLeak(() => {
      // embedder = mean colour, so a masked input differs from the raw one
      const emb = (x: tf.Tensor4D) => {
        const m = tf.mean(x, [1, 2]);
        const d = m.arraySync() as number[][];
        m.dispose();
        return d.map((r) => Float32Array.from(r));
      };
      const gen = tf.fill([1, 2, 2, 3], 0.5) as tf.Tensor4D;
      const ref = tf.tensor4d([1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0], [1, 2, 2, 3]);
      const mask = tf.tensor4d([1, 0, 0, 0], [1, 2, 2, 1]);
      const s = evaluateImages({ generated: gen, references: ref, masks: mask, clipImage: emb, dino: emb });
      assert.ok(Math.abs(s.clipIFG! - cosine(Float32Array.from([0.5, 0.5, 0.5]), Float32Array.from([0.25, 0, 0]))) < 1e-6);
      assert.strictEqual(s.clipI, s.dinoI);
      tf.dispose([gen, ref, mask]);
    });
  });
});
