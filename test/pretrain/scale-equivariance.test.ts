import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { scaleEquivarianceLoss } from '../../lib/pretrain/scale-equivariance';
import { expectNoLeak } from '../helpers/leak';

/** A toy "decoder": each latent cell becomes an f×f block of its first three channels, times `gain`. */
function blockDecoder(f: number, gain: tf.Scalar | number) {
  return (z: tf.Tensor4D) => tf.mul(tf.image.resizeNearestNeighbor(tf.slice(z, [0, 0, 0, 0], [-1, -1, -1, 3]), [z.shape[1] * f, z.shape[2] * f]), gain) as tf.Tensor4D;
}

describe('pretrain/scale-equivariance (halved latents decode to halved images)', () => {
  it('is zero for a decoder that commutes with 2× average pooling, and positive for one that does not', async () => {
    await expectNoLeak(() => {
      tf.tidy(() => {
        // images constant on 8×8 blocks, latents their 4× average pool (plus a fourth channel the decoder ignores)
        const blocks = tf.randomUniform([2, 4, 4, 3], -1, 1, 'float32', 7) as tf.Tensor4D;
        const x = tf.image.resizeNearestNeighbor(blocks, [32, 32]) as tf.Tensor4D;
        const z = tf.concat([tf.avgPool(x, 4, 4, 'valid'), tf.zeros([2, 8, 8, 1])], 3) as tf.Tensor4D;
        assert.ok(scaleEquivarianceLoss(blockDecoder(4, 1), x, z).arraySync() < 1e-6);
        assert.ok(scaleEquivarianceLoss(blockDecoder(4, 1.5), x, z).arraySync() > 0.05);
      });
    });
  });

  it('passes gradients to the decoder, and refuses a latent grid it cannot halve', async () => {
    const gain = tf.variable(tf.scalar(1.5));
    await expectNoLeak(() => {
      tf.tidy(() => {
        const x = tf.randomUniform([1, 24, 24, 3], -1, 1, 'float32', 3) as tf.Tensor4D;
        const z = tf.avgPool(x, 4, 4, 'valid') as tf.Tensor4D;
        const { grads } = tf.variableGrads(() => scaleEquivarianceLoss(blockDecoder(4, gain as unknown as tf.Scalar), x, z), [gain]);
        assert.ok(Math.abs(grads[gain.name].arraySync() as number) > 0);
        const odd = tf.zeros([1, 5, 6, 4]) as tf.Tensor4D;
        assert.throws(() => scaleEquivarianceLoss(blockDecoder(4, 1), tf.zeros([1, 20, 24, 3]) as tf.Tensor4D, odd), /latent grid 5×6 must have even sides/);
      });
    });
    gain.dispose();
  });
});
