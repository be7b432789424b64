import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { foregroundWeights, subjectOnlyWeights, weightedItemMse } from '../../lib/pretrain/foreground-weight';
import { expectNoLeak } from '../helpers/leak';

describe('pretrain/foreground-weight', () => {
  // One 8×8 mask with the top-left 4×4 quarter on the subject; latent grid 2×2.
  const mask = () => {
    const m = new Float32Array(64);
    for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) m[y * 8 + x] = 1;
    return tf.tensor4d(m, [1, 8, 8, 1]);
  };

  it('should weigh subject cells w times the background, with mean 1 per item', async () => {
    await expectNoLeak(() => {
      const m = mask();
      const w = foregroundWeights(m, 2, 4);
      const v = Array.from(w.dataSync());
      // raw weights 4,1,1,1 → mean 7/4
      assert.deepStrictEqual(v.map((x) => +x.toFixed(6)), [16 / 7, 4 / 7, 4 / 7, 4 / 7].map((x) => +x.toFixed(6)));
      m.dispose();
      w.dispose();
    });
  });

  it('should give the plain MSE at weight 1 and favour subject errors above it', async () => {
    await expectNoLeak(() => {
      const m = mask();
      const target = tf.zeros([1, 2, 2, 1]) as tf.Tensor4D;
      const errOnSubject = tf.tensor4d([1, 0, 0, 0], [1, 2, 2, 1]);
      const errOnBackground = tf.tensor4d([0, 0, 0, 1], [1, 2, 2, 1]);
      const plain = foregroundWeights(m, 2, 1);
      const fg = foregroundWeights(m, 2, 4);
      const mse = (p: tf.Tensor4D, w: tf.Tensor4D) => {
        const t = weightedItemMse(p, target, w);
        const x = t.dataSync()[0];
        t.dispose();
        return x;
      };
      assert.ok(Math.abs(mse(errOnSubject, plain) - 0.25) < 1e-6);
      assert.ok(mse(errOnSubject, fg) > 0.5 && mse(errOnBackground, fg) < 0.15);
      tf.dispose([m, target, errOnSubject, errOnBackground, plain, fg]);
    });
  });

  it('should see only the subject with subject-only weights, and nothing for an empty mask', async () => {
    await expectNoLeak(() => {
      const m = tf.tidy(() => tf.concat([mask(), tf.zeros([1, 8, 8, 1])]) as tf.Tensor4D);
      const w = subjectOnlyWeights(m, 2);
      // item 0: area 1,0,0,0 → mean 1/4 → weights 4,0,0,0; item 1: all zero
      assert.deepStrictEqual(Array.from(w.dataSync()).map((x) => Math.round(x * 1e5) / 1e5), [4, 0, 0, 0, 0, 0, 0, 0]);
      const target = tf.zeros([2, 2, 2, 1]) as tf.Tensor4D;
      const onBackground = tf.tensor4d([0, 1, 1, 1, 1, 1, 1, 1], [2, 2, 2, 1]);
      const onSubject = tf.tensor4d([1, 0, 0, 0, 0, 0, 0, 0], [2, 2, 2, 1]);
      const a = weightedItemMse(onBackground, target, w);
      const b = weightedItemMse(onSubject, target, w);
      assert.deepStrictEqual(Array.from(a.dataSync()), [0, 0]);
      assert.ok(Math.abs(b.dataSync()[0] - 1) < 1e-5, 'the subject pixel\'s error, undiluted');
      tf.dispose([m, w, target, onBackground, onSubject, a, b]);
    });
  });

  it('should name a bad weight or a latent size that does not divide the mask', () => {
    const m = mask();
    assert.throws(() => foregroundWeights(m, 2, 0.5), /foreground weight .* ≥ 1, got 0.5/);
    assert.throws(() => foregroundWeights(m, 3, 2), /foregroundWeights: a 3×3 grid does not divide the 8×8 mask/);
    assert.throws(() => subjectOnlyWeights(m, 3), /subjectOnlyWeights: a 3×3 grid does not divide/);
    // the latent grid is square: a non-square mask cannot be its image
    const wide = tf.zeros([1, 8, 16, 1]) as tf.Tensor4D;
    assert.throws(() => foregroundWeights(wide, 2, 2), /foregroundWeights: a 2×2 grid shrinks the 8×16 mask by 4 and 8, not one factor/);
    wide.dispose();
    m.dispose();
  });
});
