/** nn.Conv2d on NHWC input. Weight stored (out, in, kh, kw), used as [kh, kw, in, out]. */
import * as tf from '@tensorflow/tfjs-core';
import { ParamStore } from './params';

/** Registered by lib/backend/native-kernels on 'cpu' (conv + bias + addend in one call, forward only). */
const CONV2D_ADD = 'DetexConv2DAdd';

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
      const bias = this.bias ? (this.store.tensor(this.bias) as tf.Tensor1D) : undefined;
      const pointwise = this.kernelSize === 1 && this.stride === 1 && this.padding === 0;
      // At inference the bias goes into the conv/matmul kernel: a separate broadcast Add is one more full pass
      // over the output (~1 ms a call on a VAE decoder's 256² maps). Under a gradient tape the composed ops stay:
      // tf.fused's gradient saves the output too, one more tensor per conv held until the backward pass.
      if (bias && !tf.engine().isTapeOn()) {
        if (pointwise) return pointwiseConv(x, w, bias);
        if (this.dilation === 1) return tf.fused.conv2d({ x, filter: w, strides: this.stride, pad: this.padding, bias });
      }
      const y = pointwise ? pointwiseConv(x, w) : tf.conv2d(x, w, this.stride, this.padding, 'NHWC', this.dilation);
      return bias ? tf.add(y, bias) : y;
    });
  }

  /**
   * addend + apply(x) (addend: the output's shape), e.g. a resnet block's residual. At inference, where the
   * cpu backend has the kernel, one native call adds it while the output is in cache; under a gradient tape
   * (the kernel has no gradient) or elsewhere, the composed ops. Both compute the same function
   * (test/backend/native-conv-add.test.ts compares them).
   */
  applyAdd(x: tf.Tensor4D, addend: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      if (this.dilation === 1 && x.dtype === 'float32' && addend.dtype === 'float32' && !tf.engine().isTapeOn() &&
        tf.getKernel(CONV2D_ADD, tf.getBackend()) && x.shape[3] === this.inChannels) {
        const inputs: tf.NamedTensorMap = { x, filter: this.store.tensor(this.weight), addend };
        if (this.bias) inputs.bias = this.store.tensor(this.bias);
        const attrs = { strides: this.stride, pad: this.padding, dilations: 1 };
        return tf.engine().runKernel(CONV2D_ADD, inputs, attrs) as tf.Tensor4D;
      }
      return tf.add(addend, this.apply(x));
    });
  }
}

/** A 1×1 convolution is a matmul over channels: faster on every backend. */
function pointwiseConv(x: tf.Tensor4D, w: tf.Tensor4D, bias?: tf.Tensor1D): tf.Tensor4D {
  const [b, h, wd, c] = x.shape;
  const out = w.shape[3];
  const x2 = tf.reshape(x, [b * h * wd, c]) as tf.Tensor2D, w2 = tf.reshape(w, [c, out]) as tf.Tensor2D;
  const y = bias ? tf.fused.matMul({ a: x2, b: w2, bias }) : tf.matMul(x2, w2);
  return tf.reshape(y, [b, h, wd, out]);
}
