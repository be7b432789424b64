/**
 * One DINO ViT block (pre-norm): x + attn(norm1(x)), then x + mlp(norm2(x)). Tokens [B, N, C].
 * Parameter names as the reference `Block`: `{prefix}.norm1`, `.attn.qkv`, `.attn.proj`, `.norm2`,
 * `.mlp.fc1`, `.mlp.fc2`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { gelu, LayerNorm, Linear, ParamStore, scaledDotProductAttention } from '../../nn';

export interface BlockOptions {
  dim: number;
  numHeads: number;
  mlpHidden: number;
  qkvBias: boolean;
  /** attention logit scale */
  scale: number;
  eps: number;
}

export class DinoBlock {
  private readonly norm1: LayerNorm;
  private readonly qkv: Linear;
  private readonly proj: Linear;
  private readonly norm2: LayerNorm;
  private readonly fc1: Linear;
  private readonly fc2: Linear;

  constructor(store: ParamStore, prefix: string, private readonly o: BlockOptions) {
    this.norm1 = new LayerNorm(store, `${prefix}.norm1`, o.dim, o.eps);
    // Fused qkv: output features ordered q | k | v, each with heads contiguous.
    this.qkv = new Linear(store, `${prefix}.attn.qkv`, o.dim, 3 * o.dim, { bias: o.qkvBias });
    this.proj = new Linear(store, `${prefix}.attn.proj`, o.dim, o.dim);
    this.norm2 = new LayerNorm(store, `${prefix}.norm2`, o.dim, o.eps);
    this.fc1 = new Linear(store, `${prefix}.mlp.fc1`, o.dim, o.mlpHidden);
    this.fc2 = new Linear(store, `${prefix}.mlp.fc2`, o.mlpHidden, o.dim);
  }

  /** Self-attention of normed tokens; also the probabilities [B, heads, N, N] when asked. */
  private attend(x: tf.Tensor3D, wantProbs: boolean): { out: tf.Tensor3D; probs?: tf.Tensor4D } {
    const c = this.o.dim;
    const [q, k, v] = tf.tidy(() => {
      const qkv = this.qkv.apply(this.norm1.apply(x)); // [B, N, 3C]
      return tf.split(qkv, [c, c, c], 2) as tf.Tensor3D[];
    });
    try {
      return scaledDotProductAttention(q, k, v, { heads: this.o.numHeads, scale: this.o.scale, wantProbs });
    } finally {
      tf.dispose([q, k, v]);
    }
  }

  apply(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const { out } = this.attend(x, false);
      const h = tf.add(x, this.proj.apply(out)) as tf.Tensor3D;
      return tf.add(h, this.fc2.apply(gelu(this.fc1.apply(this.norm2.apply(h))))) as tf.Tensor3D;
    });
  }

  /** The attention map of this block for input tokens x: [B, heads, N, N] (reference return_attention). */
  attentionProbs(x: tf.Tensor3D): tf.Tensor4D {
    const { out, probs } = this.attend(x, true);
    out.dispose();
    return probs as tf.Tensor4D;
  }
}
