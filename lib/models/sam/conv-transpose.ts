/**
 * nn.ConvTranspose2d (no padding, no output padding) on NHWC input. The weight is stored (in, out, kh, kw)
 * and taken as [kh, kw, out, in], tf.conv2dTranspose's filter layout; like PyTorch's, tfjs' transposed
 * conv is the gradient of conv2d, so the kernel is not flipped.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ParamStore } from '../../nn';

export class ConvTranspose2d {
  readonly weight: string;
  readonly bias?: string;

  constructor(
    private readonly store: ParamStore,
    prefix: string,
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    readonly stride: number,
    opts: { bias?: boolean } = {},
  ) {
    this.weight = `${prefix}.weight`;
    store.take(this.weight, [inChannels, outChannels, kernelSize, kernelSize], 'convTranspose2d');
    if (opts.bias ?? true) {
      this.bias = `${prefix}.bias`;
      store.take(this.bias, [outChannels]);
    }
  }

  /** x [B, H, W, in] → [B, (H−1)·s + k, (W−1)·s + k, out] */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [b, h, w, c] = x.shape;
      if (c !== this.inChannels) throw new Error(`Error in ConvTranspose2d ${this.weight}: input has ${c} channels, expected ${this.inChannels} (NHWC)`);
      const k = this.kernelSize;
      const s = this.stride;
      const outShape: [number, number, number, number] = [b, (h - 1) * s + k, (w - 1) * s + k, this.outChannels];
      let y = tf.conv2dTranspose(x, this.store.tensor(this.weight) as tf.Tensor4D, outShape, s, 'valid');
      if (this.bias) y = tf.add(y, this.store.tensor(this.bias));
      return y;
    });
  }
}
