/** nn.Linear over the last axis of any-rank input. Weight stored (out, in), used as [in, out]. */
import * as tf from '@tensorflow/tfjs-core';
import { ParamStore } from './params';

export class Linear {
  readonly weight: string;
  readonly bias?: string;

  constructor(
    private readonly store: ParamStore,
    prefix: string,
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: { bias?: boolean } = {},
  ) {
    this.weight = `${prefix}.weight`;
    store.take(this.weight, [outFeatures, inFeatures], 'linear');
    if (opts.bias ?? true) {
      this.bias = `${prefix}.bias`;
      store.take(this.bias, [outFeatures]);
    }
  }

  /** The stored weight [in, out] and bias [out] (not copies: for kernels that take the layer whole). */
  tensors(): { weight: tf.Tensor2D; bias?: tf.Tensor1D } {
    return {
      weight: this.store.tensor(this.weight) as tf.Tensor2D,
      bias: this.bias ? (this.store.tensor(this.bias) as tf.Tensor1D) : undefined,
    };
  }

  apply<T extends tf.Tensor>(x: T): T {
    return tf.tidy(() => {
      const shape = x.shape;
      if (shape[shape.length - 1] !== this.inFeatures) {
        throw new Error(`Error in Linear ${this.weight}: input width ${shape[shape.length - 1]} ≠ in_features ${this.inFeatures}`);
      }
      const flat = tf.reshape(x, [-1, this.inFeatures]) as tf.Tensor2D;
      let y: tf.Tensor = tf.matMul(flat, this.store.tensor(this.weight) as tf.Tensor2D);
      if (this.bias) y = tf.add(y, this.store.tensor(this.bias));
      return tf.reshape(y, [...shape.slice(0, -1), this.outFeatures]) as T;
    });
  }
}
