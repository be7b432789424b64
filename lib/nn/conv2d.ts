/** nn.Conv2d on NHWC input. Weight stored (out, in, kh, kw), used as [kh, kw, in, out]. */
import * as tf from '@tensorflow/tfjs-core';
import { ParamStore } from './params';

export interface Conv2dOptions {
  stride?: number;
  /** symmetric zero padding in pixels, as PyTorch's `padding=` integer */
  padding?: number;
  dilation?: number;
  bias?: boolean;
}

export class Conv2d {
  readonly weight: string;
  readonly bias?: string;
  readonly stride: number;
  readonly padding: number;
  readonly dilation: number;

  constructor(
    private readonly store: ParamStore,
    prefix: string,
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    opts: Conv2dOptions = {},
  ) {
    this.stride = opts.stride ?? 1;
    this.padding = opts.padding ?? 0;
    this.dilation = opts.dilation ?? 1;
    this.weight = `${prefix}.weight`;
    store.take(this.weight, [outChannels, inChannels, kernelSize, kernelSize], 'conv2d');
    if (opts.bias ?? true) {
      this.bias = `${prefix}.bias`;
      store.take(this.bias, [outChannels]);
    }
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      if (x.shape[3] !== this.inChannels) {
        throw new Error(`Error in Conv2d ${this.weight}: input has ${x.shape[3]} channels, expected ${this.inChannels} (NHWC)`);
      }
      const w = this.store.tensor(this.weight) as tf.Tensor4D;
      let y: tf.Tensor4D =
        this.kernelSize === 1 && this.stride === 1 && this.padding === 0
          ? pointwise(x, w)
          : tf.conv2d(x, w, this.stride, this.padding, 'NHWC', this.dilation);
      if (this.bias) y = tf.add(y, this.store.tensor(this.bias));
      return y;
    });
  }
}

/** A 1×1 convolution is a matmul over channels: faster on every backend. */
function pointwise(x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  const [b, h, wd, c] = x.shape;
  const out = w.shape[3];
  const y = tf.matMul(tf.reshape(x, [b * h * wd, c]) as tf.Tensor2D, tf.reshape(w, [c, out]) as tf.Tensor2D);
  return tf.reshape(y, [b, h, wd, out]);
}
