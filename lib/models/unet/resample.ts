/**
 * diffusers' `Downsample2D` (stride-2 3×3 conv, key `downsamplers.0.conv`) and `Upsample2D` (nearest ×2,
 * then 3×3 conv, key `upsamplers.0.conv`), NHWC.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Conv2d, ParamStore, upsampleNearest2x } from '../../nn';

export { upsampleNearest2x };

export class Downsample2D {
  private readonly conv: Conv2d;

  /** padding 0 means diffusers' asymmetric (0, 1, 0, 1) zero pad (right and bottom) before the conv. */
  constructor(store: ParamStore, prefix: string, channels: number, outChannels: number, private readonly padding: number) {
    this.conv = new Conv2d(store, `${prefix}.conv`, channels, outChannels, 3, { stride: 2, padding });
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const input = this.padding === 0 ? tf.pad(x, [[0, 0], [0, 1], [0, 1], [0, 0]]) : x;
      return this.conv.apply(input);
    });
  }
}

/**
 * Nearest upsampling to an explicit size, as F.interpolate(mode='nearest', size) does (source index
 * floor(i·in/out)). The UNet only asks for 2·in (the ×2 case) or 2·in − 1 (an odd size on the way down,
 * restored on the way up); for out = 2·in − 1, floor(i·in/out) = floor(i/2) for every i < out, so the ×2
 * result cropped to `out` is exact.
 */
export function upsampleNearestTo(x: tf.Tensor4D, size: [number, number]): tf.Tensor4D {
  const [, h, w] = x.shape;
  const [oh, ow] = size;
  const ok = (o: number, i: number) => o === 2 * i || o === 2 * i - 1;
  if (!ok(oh, h) || !ok(ow, w)) {
    throw new Error(`Error in upsampleNearestTo: target ${oh}×${ow} from ${h}×${w} is not ×2 (or ×2 − 1)`);
  }
  return tf.tidy(() => {
    const up = upsampleNearest2x(x);
    return oh === 2 * h && ow === 2 * w ? up : tf.slice(up, [0, 0, 0, 0], [-1, oh, ow, -1]);
  });
}

export class Upsample2D {
  private readonly conv: Conv2d;

  constructor(store: ParamStore, prefix: string, channels: number, outChannels: number) {
    this.conv = new Conv2d(store, `${prefix}.conv`, channels, outChannels, 3, { padding: 1 });
  }

  /** size: the skip connection's spatial size when the input size was not a multiple of 2^upsamplers */
  apply(x: tf.Tensor4D, size?: [number, number]): tf.Tensor4D {
    return tf.tidy(() => this.conv.apply(size ? upsampleNearestTo(x, size) : upsampleNearest2x(x)));
  }
}
