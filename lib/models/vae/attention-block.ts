/**
 * The VAE mid-block's spatial self-attention (diffusers `Attention` with group_norm, residual_connection,
 * bias, heads = channels / attention_head_dim = 1): every pixel attends to every pixel.
 *   x [B,H,W,C] → GroupNorm → tokens [B, H·W, C] → to_q/to_k/to_v → softmax(QKᵀ/√d)V → to_out.0 → + x
 * Old checkpoints store the same Linear weights as query/key/value/proj_attn (see legacy-names.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { GroupNorm, Linear, ParamStore, scaledDotProductAttention } from '../../nn';

export class VAEAttentionBlock {
  private readonly groupNorm: GroupNorm;
  private readonly toQ: Linear;
  private readonly toK: Linear;
  private readonly toV: Linear;
  private readonly toOut: Linear;
  private readonly heads: number;

  constructor(store: ParamStore, prefix: string, channels: number, headDim: number, groups: number, eps: number) {
    if (channels % headDim !== 0) {
      throw new Error(`VAE attention ${prefix}: ${channels} channels do not split into heads of ${headDim}`);
    }
    this.heads = channels / headDim;
    this.groupNorm = new GroupNorm(store, `${prefix}.group_norm`, groups, channels, eps);
    this.toQ = new Linear(store, `${prefix}.to_q`, channels, channels);
    this.toK = new Linear(store, `${prefix}.to_k`, channels, channels);
    this.toV = new Linear(store, `${prefix}.to_v`, channels, channels);
    this.toOut = new Linear(store, `${prefix}.to_out.0`, channels, channels);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [b, h, w, c] = x.shape;
      const tokens = tf.reshape(this.groupNorm.apply(x), [b, h * w, c]) as tf.Tensor3D; // row-major pixels
      const { out } = scaledDotProductAttention(this.toQ.apply(tokens), this.toK.apply(tokens), this.toV.apply(tokens), {
        heads: this.heads,
      });
      const projected = tf.reshape(this.toOut.apply(out), [b, h, w, c]);
      return tf.add(projected, x); // residual_connection; rescale_output_factor is 1
    });
  }
}
