/**
 * Multi-head self-attention of the image encoder's blocks (image_encoder.py `Attention`): fused qkv Linear,
 * logits (q·scale)·kᵀ plus the optional decomposed relative position bias (from the unscaled q), softmax,
 * proj. Heads are computed one after another (same result, bounded memory).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Linear, ParamStore, scaledDotProductAttention } from '../../nn';
import { decomposedRelPosBias } from './rel-pos';

export interface ViTAttentionOptions {
  heads: number;
  qkvBias: boolean;
  useRelPos: boolean;
  /** grid the rel_pos tables are sized for: the window, or the whole token grid for global attention */
  inputSize: [number, number];
}

export class ViTAttention {
  readonly qkv: Linear;
  readonly proj: Linear;
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

  /** The rel_pos_h / rel_pos_w tables, when the block has them. */
  relPosTables(): { h: tf.Tensor2D; w: tf.Tensor2D } | undefined {
    if (!this.relPosH || !this.relPosW) return undefined;
    return { h: this.store.tensor(this.relPosH) as tf.Tensor2D, w: this.store.tensor(this.relPosW) as tf.Tensor2D };
  }

  /** x [B, H, W, C] → [B, H, W, C] */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [b, h, w, c] = x.shape;
      const n = h * w;
      const d = c / this.heads;
      const qkv = this.qkv.apply(tf.reshape(x, [b, n, c]) as tf.Tensor3D);
      // The fused output is laid out (3, heads, head_dim) along its last axis.
      const [q, k, v] = tf.split(qkv, 3, 2) as tf.Tensor3D[];
      // One head at a time: global attention at 1024² input has 4096 tokens, so each head's logits (and
      // the rel-pos bias, the sum, the softmax) are 64 MiB; all heads at once would not fit the WASM heap.
      const heads: tf.Tensor3D[] = [];
      for (let i = 0; i < this.heads; i++) {
        heads.push(
          tf.tidy(() => {
            const head = (t: tf.Tensor3D) => tf.slice(t, [0, 0, i * d], [b, n, d]) as tf.Tensor3D;
            const qi = head(q);
            let bias: tf.Tensor | undefined;
            if (this.relPosH && this.relPosW) {
              const rel = decomposedRelPosBias(
                qi,
                this.store.tensor(this.relPosH) as tf.Tensor2D,
                this.store.tensor(this.relPosW) as tf.Tensor2D,
                [h, w],
                [h, w],
              );
              bias = tf.expandDims(rel, 1); // [B, 1, N, N]
            }
            if (b === 1) return singleImageAttention(qi, head(k), head(v), bias);
            return scaledDotProductAttention(qi, head(k), head(v), { heads: 1, bias }).out;
          }),
        );
      }
      const out = heads.length === 1 ? heads[0] : tf.concat(heads, 2);
      return tf.reshape(this.proj.apply(out), [b, h, w, c]) as tf.Tensor4D;
    });
  }
}

/**
 * One head of one image (global attention): the same softmax((q·scale)·kᵀ + bias)·v as
 * scaledDotProductAttention, written with plain 2-D matmuls and an explicit transpose, which the WASM
 * backend runs several times faster than a batched matmul with a transpose flag (design/tfjs-notes.md).
 */
function singleImageAttention(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, bias?: tf.Tensor): tf.Tensor3D {
  return tf.tidy(() => {
    const [, n, d] = q.shape;
    const q2 = tf.mul(tf.reshape(q, [n, d]), 1 / Math.sqrt(d)) as tf.Tensor2D;
    const kT = tf.transpose(tf.reshape(k, [n, d])) as tf.Tensor2D;
    let logits: tf.Tensor2D = tf.matMul(q2, kT);
    if (bias) logits = tf.add(logits, tf.reshape(bias, [n, n]));
    const out = tf.matMul(tf.softmax(logits), tf.reshape(v, [n, d]) as tf.Tensor2D);
    return tf.reshape(out, [1, n, d]) as tf.Tensor3D;
  });
}
