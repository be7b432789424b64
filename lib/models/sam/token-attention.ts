/**
 * transformer.py `Attention`: separate q/k/v projections to embedding_dim / downsample_rate channels, heads
 * split from those, softmax(q·kᵀ / √head_dim)·v, and out_proj back to embedding_dim. Used for token↔token
 * and token↔image attention in the mask decoder.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Linear, ParamStore, scaledDotProductAttention } from '../../nn';

export class TokenAttention {
  private readonly qProj: Linear;
  private readonly kProj: Linear;
  private readonly vProj: Linear;
  private readonly outProj: Linear;

  constructor(store: ParamStore, prefix: string, embeddingDim: number, private readonly heads: number, downsampleRate = 1) {
    const internal = Math.trunc(embeddingDim / downsampleRate);
    if (internal % heads !== 0) throw new Error(`TokenAttention ${prefix}: ${heads} heads must divide embedding_dim / downsample_rate = ${internal}`);
    this.qProj = new Linear(store, `${prefix}.q_proj`, embeddingDim, internal);
    this.kProj = new Linear(store, `${prefix}.k_proj`, embeddingDim, internal);
    this.vProj = new Linear(store, `${prefix}.v_proj`, embeddingDim, internal);
    this.outProj = new Linear(store, `${prefix}.out_proj`, internal, embeddingDim);
  }

  /** q [B, Nq, C], k and v [B, Nk, C] → [B, Nq, C] */
  apply(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const { out } = scaledDotProductAttention(this.qProj.apply(q), this.kProj.apply(k), this.vProj.apply(v), { heads: this.heads });
      return this.outProj.apply(out);
    });
  }
}
