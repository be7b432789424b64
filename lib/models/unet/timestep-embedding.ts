/**
 * Timestep conditioning: diffusers' `Timesteps` (sinusoidal `get_timestep_embedding`) and
 * `TimestepEmbedding` (linear_1 → act → linear_2 [→ post_act]).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Linear, ParamStore, Activation, activationByName } from '../../nn';

const MAX_PERIOD = 10000;

/**
 * The frequencies exp(−ln(10000)·i / (half − shift)), rounded to float32 step by step as PyTorch computes
 * them in float32 (the argument t·freq reaches ~1000 rad, so each rounding shows in sin/cos).
 */
export function timestepFrequencies(dim: number, downscaleFreqShift: number): Float32Array {
  const half = Math.floor(dim / 2);
  const f = Math.fround;
  const negLog = f(-Math.log(MAX_PERIOD));
  const denom = f(half - downscaleFreqShift);
  const out = new Float32Array(half);
  for (let i = 0; i < half; i++) out[i] = f(Math.exp(f(f(negLog * i) / denom)));
  return out;
}

/** Sinusoidal projection of timesteps: [B] → [B, dim], [cos | sin] when flipSinToCos, else [sin | cos]. */
export class Timesteps {
  private readonly freqs: Float32Array;

  constructor(
    readonly dim: number,
    readonly flipSinToCos: boolean,
    readonly downscaleFreqShift: number,
  ) {
    this.freqs = timestepFrequencies(dim, downscaleFreqShift);
  }

  apply(timesteps: tf.Tensor1D): tf.Tensor2D {
    return tf.tidy(() => {
      const t = tf.cast(timesteps, 'float32');
      const args = tf.mul(tf.reshape(t, [-1, 1]), tf.tensor2d(this.freqs, [1, this.freqs.length])); // [B, half]
      const parts = this.flipSinToCos ? [tf.cos(args), tf.sin(args)] : [tf.sin(args), tf.cos(args)];
      let emb = tf.concat(parts, 1);
      if (this.dim % 2 === 1) emb = tf.pad(emb, [[0, 0], [0, 1]]);
      return emb as tf.Tensor2D;
    });
  }
}

/** MLP on the sinusoidal embedding: [B, inDim] → [B, timeEmbedDim]. */
export class TimestepEmbedding {
  private readonly linear1: Linear;
  private readonly linear2: Linear;
  private readonly act: Activation;
  private readonly postAct?: Activation;

  constructor(store: ParamStore, prefix: string, inDim: number, timeEmbedDim: number, actFn: string, postActFn: string | null) {
    this.linear1 = new Linear(store, `${prefix}.linear_1`, inDim, timeEmbedDim);
    this.linear2 = new Linear(store, `${prefix}.linear_2`, timeEmbedDim, timeEmbedDim);
    this.act = activationByName(actFn);
    if (postActFn !== null) this.postAct = activationByName(postActFn);
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const h = this.linear2.apply(this.act(this.linear1.apply(x)));
      return (this.postAct ? this.postAct(h) : h) as tf.Tensor2D;
    });
  }
}
