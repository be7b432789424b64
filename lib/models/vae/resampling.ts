/**
 * The VAE's resolution changes (NHWC).
 * - Downsample2D as the encoder builds it (padding=0): zero-pad right and bottom by one pixel, then a
 *   stride-2 3×3 conv with no padding — diffusers' asymmetric (0,1,0,1) pad, not the symmetric padding=1.
 * - Upsample2D: nearest ×2, then a 3×3 conv. Nearest ×2 is written as reshape + broadcast multiply (all rank 4)
 *   because tf.image.resizeNearestNeighbor's gradient is wrong on the CPU backend for batch > 1 and rank-6
 *   tile has no gradient; this form is exact and differentiable everywhere. At inference on the cpu backend
 *   with native kernels, one copying kernel instead (lib/nn/upsample.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Conv2d, ParamStore, nativeUpsampleNearest2x } from '../../nn';

export class Downsample {
  private readonly conv: Conv2d;

  constructor(store: ParamStore, prefix: string, channels: number) {
    this.conv = new Conv2d(store, `${prefix}.conv`, channels, channels, 3, { stride: 2, padding: 0 });
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.conv.apply(tf.pad(x, [[0, 0], [0, 1], [0, 1], [0, 0]])));
  }
}

/** Nearest-neighbour ×2 upsampling of NHWC: out[b, 2i+di, 2j+dj, c] = x[b, i, j, c]. */
export function upsampleNearest2x(x: tf.Tensor4D): tf.Tensor4D {
  const native = nativeUpsampleNearest2x(x);
  if (native) return native;
  return tf.tidy(() => {
    const [b, h, w, c] = x.shape;
    const pair = tf.ones([1, 1, 2, 1]);
    const wide = tf.reshape(tf.mul(tf.reshape(x, [b * h, w, 1, c]), pair), [b, h, 1, 2 * w * c]);
    return tf.reshape(tf.mul(wide, pair), [b, 2 * h, 2 * w, c]);
  });
}

export class Upsample {
  private readonly conv: Conv2d;

  constructor(store: ParamStore, prefix: string, channels: number) {
    this.conv = new Conv2d(store, `${prefix}.conv`, channels, channels, 3, { padding: 1 });
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.conv.apply(upsampleNearest2x(x)));
  }
}
