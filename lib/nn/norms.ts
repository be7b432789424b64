/** GroupNorm (NHWC) and LayerNorm (last axis) with PyTorch's biased variance and affine parameters. */
import * as tf from '@tensorflow/tfjs-core';
import { ParamStore } from './params';

export class GroupNorm {
  readonly weight: string;
  readonly bias: string;

  constructor(
    private readonly store: ParamStore,
    prefix: string,
    readonly groups: number,
    readonly channels: number,
    readonly eps: number,
    opts: { affine?: boolean } = {},
  ) {
    if (channels % groups !== 0) throw new Error(`GroupNorm ${prefix}: ${channels} channels do not split into ${groups} groups`);
    this.weight = `${prefix}.weight`;
    this.bias = `${prefix}.bias`;
    this.affine = opts.affine ?? true;
    if (this.affine) {
      store.take(this.weight, [channels]);
      store.take(this.bias, [channels]);
    }
  }

  private readonly affine: boolean;

  /** x: [B, H, W, C] (or [B, N, C], treated as H=N, W=1). */
  apply<T extends tf.Tensor>(x: T): T {
    return tf.tidy(() => {
      const shape = x.shape;
      const c = shape[shape.length - 1];
      if (c !== this.channels) throw new Error(`Error in GroupNorm ${this.weight}: input has ${c} channels, expected ${this.channels}`);
      const g = this.groups;
      const grouped = tf.reshape(x, [shape[0], -1, g, c / g]);
      const { mean, variance } = tf.moments(grouped, [1, 3], true);
      const normed = tf.reshape(tf.div(tf.sub(grouped, mean), tf.sqrt(tf.add(variance, this.eps))), shape);
      if (!this.affine) return normed as T;
      return tf.add(tf.mul(normed, this.store.tensor(this.weight)), this.store.tensor(this.bias)) as T;
    });
  }
}

export class LayerNorm {
  readonly weight: string;
  readonly bias: string;

  constructor(
    private readonly store: ParamStore,
    prefix: string,
    readonly dim: number,
    readonly eps: number,
  ) {
    this.weight = `${prefix}.weight`;
    this.bias = `${prefix}.bias`;
    store.take(this.weight, [dim]);
    store.take(this.bias, [dim]);
  }

  apply<T extends tf.Tensor>(x: T): T {
    return tf.tidy(() => {
      const axis = x.rank - 1;
      if (x.shape[axis] !== this.dim) throw new Error(`Error in LayerNorm ${this.weight}: input width ${x.shape[axis]} ≠ ${this.dim}`);
      const { mean, variance } = tf.moments(x, axis, true);
      const normed = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, this.eps)));
      return tf.add(tf.mul(normed, this.store.tensor(this.weight)), this.store.tensor(this.bias)) as T;
    });
  }
}
