/**
 * diffusers' `Transformer2DModel` for continuous (image) input, NHWC:
 *   h = proj_in(norm(x)) → [B, H·W, inner] → transformer_blocks → proj_out → + x
 * norm is GroupNorm(norm_num_groups, C) with eps 1e-6 whatever the UNet config's norm_eps says (diffusers
 * hard-codes it). proj_in / proj_out are 1×1 convs (SD v1, weights (inner, C, 1, 1)) or Linear layers
 * (use_linear_projection, SD v2, weights (inner, C)); on NHWC both are a matmul over channels.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Conv2d, GroupNorm, Linear, ParamStore } from '../../nn';
import { BasicTransformerBlock } from './basic-transformer-block';
import { AttentionCapture, AttentionMaps } from './attention-capture';

export const TRANSFORMER_2D_NORM_EPS = 1e-6;

export interface Transformer2DConfig {
  channels: number;
  heads: number;
  /** transformer_blocks depth */
  numLayers: number;
  crossAttentionDim: number;
  groups: number;
  useLinearProjection: boolean;
  onlyCrossAttention: boolean;
  /** 2^(downsamplers before this module), reported with captured maps */
  downscale: number;
}

export type TransformerOutput = { hidden: tf.Tensor4D; maps: AttentionMaps };

export class Transformer2DModel {
  private readonly norm: GroupNorm;
  private readonly projIn: Linear | Conv2d;
  private readonly blocks: BasicTransformerBlock[] = [];
  private readonly projOut: Linear | Conv2d;
  readonly inner: number;
  readonly crossAttentionPaths: string[] = [];

  constructor(store: ParamStore, readonly prefix: string, private readonly cfg: Transformer2DConfig) {
    const { channels, heads } = cfg;
    // diffusers: attention_head_dim = channels // heads, inner_dim = heads · attention_head_dim
    const dimHead = Math.floor(channels / heads);
    if (dimHead === 0) throw new Error(`${prefix}: ${heads} heads do not fit in ${channels} channels`);
    this.inner = heads * dimHead;
    this.norm = new GroupNorm(store, `${prefix}.norm`, cfg.groups, channels, TRANSFORMER_2D_NORM_EPS);
    const proj = (name: string, i: number, o: number) =>
      cfg.useLinearProjection ? new Linear(store, `${prefix}.${name}`, i, o) : new Conv2d(store, `${prefix}.${name}`, i, o, 1);
    this.projIn = proj('proj_in', channels, this.inner);
    for (let j = 0; j < cfg.numLayers; j++) {
      const blockPrefix = `${prefix}.transformer_blocks.${j}`;
      this.blocks.push(
        new BasicTransformerBlock(store, blockPrefix, {
          dim: this.inner,
          heads,
          dimHead,
          crossAttentionDim: cfg.crossAttentionDim,
          onlyCrossAttention: cfg.onlyCrossAttention,
        }),
      );
      this.crossAttentionPaths.push(`${blockPrefix}.attn2`);
    }
    this.projOut = proj('proj_out', this.inner, channels);
  }

  /** x [B, H, W, C], context [B, Nk, crossAttentionDim] */
  apply(x: tf.Tensor4D, context: tf.Tensor3D, capture?: AttentionCapture): TransformerOutput {
    return tf.tidy(() => {
      const [b, h, w] = x.shape;
      if (context.shape[2] !== this.cfg.crossAttentionDim) {
        throw new Error(`Error in ${this.prefix}: context width ${context.shape[2]} ≠ cross_attention_dim ${this.cfg.crossAttentionDim}`);
      }
      const projected = this.projIn.apply(this.norm.apply(x)) as tf.Tensor4D;
      let seq = tf.reshape(projected, [b, h * w, this.inner]) as tf.Tensor3D;
      const maps: AttentionMaps = {};
      this.blocks.forEach((block, j) => {
        const path = this.crossAttentionPaths[j];
        const want = capture?.wants(path, h, w, this.cfg.downscale) ?? false;
        const r = block.apply(seq, context, want);
        seq = r.hidden;
        if (capture && r.crossAttentionProbs) maps[path] = capture.toMap(r.crossAttentionProbs, h, w);
      });
      const out = this.projOut.apply(tf.reshape(seq, [b, h, w, this.inner]) as tf.Tensor4D) as tf.Tensor4D;
      return { hidden: tf.add(out, x) as tf.Tensor4D, maps };
    });
  }
}
