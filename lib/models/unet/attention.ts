/**
 * diffusers' `Attention` as SD's UNet uses it (AttnProcessor, no group norm, no residual inside):
 * softmax(Q Kᵀ · dim_head^-0.5) V over `heads` heads, then to_out.0. Keys: to_q, to_k, to_v
 * (bias = attention_bias, false in SD), to_out.0 (with bias). upcast_attention only matters in fp16;
 * everything here is float32 already.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Linear, ParamStore, scaledDotProductAttention } from '../../nn';

export interface AttentionConfig {
  queryDim: number;
  /** width of the key/value sequence: cross_attention_dim for attn2, queryDim for self-attention */
  contextDim: number;
  heads: number;
  dimHead: number;
  qkvBias?: boolean;
}

export type AttentionOutput = {
  out: tf.Tensor3D;
  /** softmax probabilities averaged over heads [B, Nq, Nk], when asked for */
  headMeanProbs?: tf.Tensor3D;
};

export class Attention {
  readonly heads: number;
  readonly dimHead: number;
  readonly scale: number;
  private readonly toQ: Linear;
  private readonly toK: Linear;
  private readonly toV: Linear;
  private readonly toOut: Linear;

  constructor(store: ParamStore, readonly prefix: string, cfg: AttentionConfig) {
    const inner = cfg.heads * cfg.dimHead;
    const bias = cfg.qkvBias ?? false;
    this.heads = cfg.heads;
    this.dimHead = cfg.dimHead;
    this.scale = 1 / Math.sqrt(cfg.dimHead);
    this.toQ = new Linear(store, `${prefix}.to_q`, cfg.queryDim, inner, { bias });
    this.toK = new Linear(store, `${prefix}.to_k`, cfg.contextDim, inner, { bias });
    this.toV = new Linear(store, `${prefix}.to_v`, cfg.contextDim, inner, { bias });
    this.toOut = new Linear(store, `${prefix}.to_out.0`, inner, cfg.queryDim);
  }

  /** x [B, Nq, queryDim], context [B, Nk, contextDim] (x itself for self-attention). */
  apply(x: tf.Tensor3D, context: tf.Tensor3D, wantProbs = false): AttentionOutput {
    return tf.tidy(() => {
      if (context.shape[0] !== x.shape[0]) {
        throw new Error(`Error in ${this.prefix}: context batch ${context.shape[0]} ≠ query batch ${x.shape[0]}`);
      }
      const q = this.toQ.apply(x);
      const k = this.toK.apply(context);
      const v = this.toV.apply(context);
      const { out, probs } = scaledDotProductAttention(q, k, v, { heads: this.heads, scale: this.scale, wantProbs });
      const result: AttentionOutput = { out: this.toOut.apply(out) };
      if (probs) result.headMeanProbs = tf.mean(probs, 1) as tf.Tensor3D; // [B, heads, Nq, Nk] → [B, Nq, Nk]
      return result;
    });
  }
}
