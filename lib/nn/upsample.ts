/**
 * Nearest-neighbour ×2 upsampling of NHWC, out[b, 2i+di, 2j+dj, c] = x[b, i, j, c] — the one used by both the
 * VAE's and the UNet's upsamplers.
 *
 * Composed as reshape + broadcast multiply, every tensor rank 4: not tf.image.resizeNearestNeighbor, whose
 * gradient the pure-JS CPU backend computes wrong for batch > 1 (tfjs-notes.md), nor a rank-6 tile, which has no
 * gradient; this form is exact and differentiable on every backend. At inference on the cpu backend with native
 * kernels, one copying kernel instead (DetexUpsampleNearest2x, native/src/resample.cc): the same values
 * (test/backend/native-upsample.test.ts compares them).
 */
import * as tf from '@tensorflow/tfjs-core';

/** Registered by lib/backend/native-kernels on 'cpu' (forward only). */
const UPSAMPLE_NEAREST_2X = 'DetexUpsampleNearest2x';

/** [B, H, W, C] → [B, 2H, 2W, C]. */
export function upsampleNearest2x(x: tf.Tensor4D): tf.Tensor4D {
  if (x.dtype === 'float32' && !tf.engine().isTapeOn() && tf.getKernel(UPSAMPLE_NEAREST_2X, tf.getBackend())) {
    return tf.engine().runKernel(UPSAMPLE_NEAREST_2X, { x }) as tf.Tensor4D;
  }
  return tf.tidy(() => {
    const [b, h, w, c] = x.shape;
    const pair = tf.ones([1, 1, 2, 1]);
    const wide = tf.reshape(tf.mul(tf.reshape(x, [b * h, w, 1, c]), pair), [b, h, 1, 2 * w * c]);
    return tf.reshape(tf.mul(wide, pair), [b, 2 * h, 2 * w, c]);
  });
}
