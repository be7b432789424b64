/**
 * diffusers' `BasicTransformerBlock` (norm_type "layer_norm", pre-LN, eps 1e-5, affine):
 *   h += attn1(norm1(h))            self-attention (cross-attention to the text if only_cross_attention)
 *   h += attn2(norm2(h), text)      cross-attention: the maps DETEX reads
 *   h += ff(norm3(h))               GEGLU feed-forward
 */
import * as tf from '@tensorflow/tfjs-core';
import { LayerNorm, ParamStore } from '../../nn';
import { Attention } from './attention';
import { GegluFeedForward } from './feed-forward';

export interface BasicTransformerBlockConfig {
  dim: number;
  heads: number;
  dimHead: number;
  crossAttentionDim: number;
  onlyCrossAttention: boolean;
}

export type BasicTransformerBlockOutput = {
  hidden: tf.Tensor3D;
  /** attn2's head-averaged softmax [B, N, Nk], when asked for */
  crossAttentionProbs?: tf.Tensor3D;
};

/** LayerNorm eps inside the block (diffusers' norm_eps default; the UNet does not pass its own). */
const BLOCK_NORM_EPS = 1e-5;

export class BasicTransformerBlock {
  private readonly norm1: LayerNorm;
  private readonly attn1: Attention;
  private readonly norm2: LayerNorm;
  readonly attn2: Attention;
  private readonly norm3: LayerNorm;
  private readonly ff: GegluFeedForward;
  private readonly onlyCrossAttention: boolean;

  constructor(store: ParamStore, prefix: string, cfg: BasicTransformerBlockConfig) {
    const { dim, heads, dimHead, crossAttentionDim } = cfg;
    this.onlyCrossAttention = cfg.onlyCrossAttention;
    this.norm1 = new LayerNorm(store, `${prefix}.norm1`, dim, BLOCK_NORM_EPS);
    this.attn1 = new Attention(store, `${prefix}.attn1`, {
      queryDim: dim,
      contextDim: cfg.onlyCrossAttention ? crossAttentionDim : dim,
      heads,
      dimHead,
    });
    this.norm2 = new LayerNorm(store, `${prefix}.norm2`, dim, BLOCK_NORM_EPS);
    this.attn2 = new Attention(store, `${prefix}.attn2`, { queryDim: dim, contextDim: crossAttentionDim, heads, dimHead });
    this.norm3 = new LayerNorm(store, `${prefix}.norm3`, dim, BLOCK_NORM_EPS);
    this.ff = new GegluFeedForward(store, `${prefix}.ff`, dim);
  }

  /** x [B, N, dim], context [B, Nk, crossAttentionDim] */
  apply(x: tf.Tensor3D, context: tf.Tensor3D, wantCrossProbs = false): BasicTransformerBlockOutput {
    return tf.tidy(() => {
      const n1 = this.norm1.apply(x);
      let h = tf.add(x, this.attn1.apply(n1, this.onlyCrossAttention ? context : n1).out) as tf.Tensor3D;
      const cross = this.attn2.apply(this.norm2.apply(h), context, wantCrossProbs);
      h = tf.add(h, cross.out);
      h = tf.add(h, this.ff.apply(this.norm3.apply(h)));
      const out: BasicTransformerBlockOutput = { hidden: h };
      if (cross.headMeanProbs) out.crossAttentionProbs = cross.headMeanProbs;
      return out;
    });
  }
}
