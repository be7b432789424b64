/**
 * The VAE's resolution changes (NHWC).
 * - Downsample2D as the encoder builds it (padding=0): zero-pad right and bottom by one pixel, then a
 *   stride-2 3×3 conv with no padding — diffusers' asymmetric (0,1,0,1) pad, not the symmetric padding=1.
 * - Upsample2D: nearest ×2 (lib/nn/upsample.ts, shared with the UNet), then a 3×3 conv.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Conv2d, ParamStore, upsampleNearest2x } from '../../nn';

export { upsampleNearest2x };

export class Downsample {
  private readonly conv: Conv2d;

  constructor(store: ParamStore, prefix: string, channels: number) {
    this.conv = new Conv2d(store, `${prefix}.conv`, channels, channels, 3, { stride: 2, padding: 0 });
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.conv.apply(tf.pad(x, [[0, 0], [0, 1], [0, 1], [0, 0]])));
  }
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
