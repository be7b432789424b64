/**
 * diffusers' `FeedForward` with activation "geglu" (BasicTransformerBlock's default):
 * net.0 = GEGLU (proj: dim → 2·inner, output = a · gelu(gate) with [a | gate] = proj(x), exact erf GELU),
 * net.1 = dropout (identity), net.2 = Linear(inner → dim). inner = 4·dim.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Linear, ParamStore, gelu } from '../../nn';

export class GegluFeedForward {
  private readonly proj: Linear;
  private readonly out: Linear;
  readonly inner: number;

  constructor(store: ParamStore, prefix: string, dim: number, mult = 4) {
    this.inner = dim * mult;
    this.proj = new Linear(store, `${prefix}.net.0.proj`, dim, this.inner * 2);
    this.out = new Linear(store, `${prefix}.net.2`, this.inner, dim);
  }

  apply(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const [a, gate] = tf.split(this.proj.apply(x), 2, 2);
      return this.out.apply(tf.mul(a, gelu(gate)) as tf.Tensor3D);
    });
  }
}
