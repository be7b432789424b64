/** Multi-head scaled dot-product attention on [B, N, C] sequences. */
import * as tf from '@tensorflow/tfjs-core';

/** [B, N, heads·d] → [B, heads, N, d] */
export function splitHeads(x: tf.Tensor3D, heads: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, n, c] = x.shape;
    if (c % heads !== 0) throw new Error(`Error in splitHeads: width ${c} does not split into ${heads} heads`);
    return tf.transpose(tf.reshape(x, [b, n, heads, c / heads]), [0, 2, 1, 3]);
  });
}

/** [B, heads, N, d] → [B, N, heads·d] */
export function mergeHeads(x: tf.Tensor4D): tf.Tensor3D {
  return tf.tidy(() => {
    const [b, h, n, d] = x.shape;
    return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [b, n, h * d]);
  });
}

export interface AttentionOptions {
  heads: number;
  /** logit scale; default 1/√head_dim */
  scale?: number;
  /** added to the logits, broadcastable to [B, heads, Nq, Nk] (masks, relative positions) */
  bias?: tf.Tensor;
  /** also return the softmax probabilities [B, heads, Nq, Nk] */
  wantProbs?: boolean;
}

export interface AttentionResult {
  out: tf.Tensor3D;
  probs?: tf.Tensor4D;
}

/**
 * softmax(Q Kᵀ · scale + bias) V per head. q [B, Nq, C], k/v [B, Nk, C] (v may have another width).
 * Not wrapped in tidy as a whole because the caller may keep `probs`; both results are fresh tensors.
 */
export function scaledDotProductAttention(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, opts: AttentionOptions): AttentionResult {
  const { heads } = opts;
  const [out, probs] = tf.tidy(() => {
    const qh = splitHeads(q, heads);
    const kh = splitHeads(k, heads);
    const vh = splitHeads(v, heads);
    const scale = opts.scale ?? 1 / Math.sqrt(qh.shape[3]);
    let logits: tf.Tensor = tf.matMul(tf.mul(qh, scale), kh, false, true); // [B, h, Nq, Nk]
    if (opts.bias) logits = tf.add(logits, opts.bias);
    const p = tf.softmax(logits) as tf.Tensor4D;
    const o = mergeHeads(tf.matMul(p, vh));
    return opts.wantProbs ? [o, p] : [o];
  }) as tf.Tensor[];
  return { out: out as tf.Tensor3D, probs: probs as tf.Tensor4D | undefined };
}
