/**
 * Multi-head self-attention of the image encoder's blocks (image_encoder.py `Attention`): fused qkv Linear,
 * logits (q·scale)·kᵀ plus the optional decomposed relative position bias, softmax, proj.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Linear, ParamStore, scaledDotProductAttention, splitHeads } from '../../nn';
import { decomposedRelPosBias } from './rel-pos';

export interface ViTAttentionOptions {
  heads: number;
  qkvBias: boolean;
  useRelPos: boolean;
  /** grid the rel_pos tables are sized for: the window, or the whole token grid for global attention */
  inputSize: [number, number];
}

export class ViTAttention {
  private readonly qkv: Linear;
  private readonly proj: Linear;
  private readonly heads: number;
  private readonly relPosH?: string;
  private readonly relPosW?: string;

  constructor(private readonly store: ParamStore, prefix: string, readonly dim: number, opts: ViTAttentionOptions) {
    this.heads = opts.heads;
    const headDim = dim / opts.heads;
    this.qkv = new Linear(store, `${prefix}.qkv`, dim, dim * 3, { bias: opts.qkvBias });
    this.proj = new Linear(store, `${prefix}.proj`, dim, dim);
    if (opts.useRelPos) {
      this.relPosH = `${prefix}.rel_pos_h`;
      this.relPosW = `${prefix}.rel_pos_w`;
      store.take(this.relPosH, [2 * opts.inputSize[0] - 1, headDim]);
      store.take(this.relPosW, [2 * opts.inputSize[1] - 1, headDim]);
    }
  }

  /** x [B, H, W, C] → [B, H, W, C] */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [b, h, w, c] = x.shape;
      const n = h * w;
      const qkv = this.qkv.apply(tf.reshape(x, [b, n, c]) as tf.Tensor3D);
      // The fused output is laid out (3, heads, head_dim) along its last axis.
      const [q, k, v] = tf.split(qkv, 3, 2) as tf.Tensor3D[];
      let bias: tf.Tensor | undefined;
      if (this.relPosH && this.relPosW) {
        const qh = splitHeads(q, this.heads); // [B, heads, N, d]
        const d = qh.shape[3];
        const perHead = tf.reshape(qh, [b * this.heads, n, d]) as tf.Tensor3D;
        const rel = decomposedRelPosBias(
          perHead,
          this.store.tensor(this.relPosH) as tf.Tensor2D,
          this.store.tensor(this.relPosW) as tf.Tensor2D,
          [h, w],
          [h, w],
        );
        bias = tf.reshape(rel, [b, this.heads, n, n]);
      }
      const { out } = scaledDotProductAttention(q, k, v, { heads: this.heads, bias });
      return tf.reshape(this.proj.apply(out), [b, h, w, c]) as tf.Tensor4D;
    });
  }
}
