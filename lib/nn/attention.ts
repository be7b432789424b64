/** Multi-head scaled dot-product attention on [B, N, C] sequences. */
import * as tf from '@tensorflow/tfjs-core';

/** Registered by lib/backend/native-kernels on 'cpu' when the addon has them (fused, row-blocked, no N×N tensor). */
const FUSED = 'DetexFusedAttention';
const FUSED_GRAD = 'DetexFusedAttentionGrad';

/**
 * The fused kernel with its recompute-based gradient: one backward call gives dQ, dK and dV together
 * (customGrad, since a registered per-input gradient would run the kernel once per input).
 */
function fusedAttention(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, heads: number, scale: number): tf.Tensor3D {
  const attrs = { heads, scale };
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [qq, kk, vv] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const [o, lse] = tf.engine().runKernel(FUSED, { q: qq, k: kk, v: vv }, attrs) as tf.Tensor[];
    save([qq, kk, vv, o, lse]);
    return {
      value: o,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sq, sk, sv, so, sl] = saved;
        return tf.engine().runKernel(FUSED_GRAD, { q: sq, k: sk, v: sv, out: so, lse: sl, dy }, attrs) as tf.Tensor[];
      },
    };
  });
  return tf.tidy(() => f(q, k, v) as tf.Tensor3D);
}

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
  if (!opts.bias && !opts.wantProbs && q.dtype === 'float32' && tf.getKernel(FUSED, tf.getBackend()) && tf.getKernel(FUSED_GRAD, tf.getBackend())) {
    return { out: fusedAttention(q, k, v, opts.heads, opts.scale ?? 1 / Math.sqrt(q.shape[2] / opts.heads)) };
  }
  // Per head only for inference: under a gradient tape each head's slice has a full-size (zero-padded)
  // gradient, so training memory and time would grow with batch × heads.
  const perHead = tf.getBackend() === 'wasm' && !tf.engine().isTapeOn();
  const [out, probs] = tf.tidy(() => (perHead ? attentionPerHead(q, k, v, opts) : attentionBatched(q, k, v, opts))) as tf.Tensor[];
  return { out: out as tf.Tensor3D, probs: probs as tf.Tensor4D | undefined };
}

function attentionBatched(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, opts: AttentionOptions): tf.Tensor[] {
  const qh = splitHeads(q, opts.heads);
  const kh = splitHeads(k, opts.heads);
  const vh = splitHeads(v, opts.heads);
  const scale = opts.scale ?? 1 / Math.sqrt(qh.shape[3]);
  let logits: tf.Tensor = tf.matMul(tf.mul(qh, scale), kh, false, true); // [B, h, Nq, Nk]
  if (opts.bias) logits = tf.add(logits, opts.bias);
  const p = tf.softmax(logits) as tf.Tensor4D;
  const o = mergeHeads(tf.matMul(p, vh));
  return opts.wantProbs ? [o, p] : [o];
}

/**
 * The same attention as plain 2-D matmuls, one (batch, head) at a time. WASM's XNNPACK is fast only for
 * untransposed 2-D matmuls; its batched or transposed matmul falls to a slow loop (6.6× slower measured on a
 * 2×1024×320, 8-head self-attention). Kᵀ is materialised once per batch item.
 */
function attentionPerHead(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, opts: AttentionOptions): tf.Tensor[] {
  const { heads } = opts;
  const [b, nq, c] = q.shape;
  const nk = k.shape[1];
  const cv = v.shape[2];
  if (c % heads !== 0 || cv % heads !== 0) throw new Error(`Error in attention: widths ${c}/${cv} do not split into ${heads} heads`);
  const d = c / heads;
  const dv = cv / heads;
  const scale = opts.scale ?? 1 / Math.sqrt(d);
  const bias = opts.bias ? tf.broadcastTo(opts.bias, [b, heads, nq, nk]) : undefined;
  const outs: tf.Tensor[] = [];
  const probs: tf.Tensor[] = [];
  for (let i = 0; i < b; i++) {
    const qi = tf.mul(tf.reshape(tf.slice(q, [i, 0, 0], [1, nq, c]), [nq, c]), scale);
    const kiT = tf.transpose(tf.reshape(tf.slice(k, [i, 0, 0], [1, nk, c]), [nk, c])); // [C, Nk]
    const vi = tf.reshape(tf.slice(v, [i, 0, 0], [1, nk, cv]), [nk, cv]);
    const heads_: tf.Tensor[] = [];
    for (let h = 0; h < heads; h++) {
      let logits: tf.Tensor = tf.matMul(tf.slice(qi, [0, h * d], [nq, d]) as tf.Tensor2D, tf.slice(kiT, [h * d, 0], [d, nk]) as tf.Tensor2D);
      if (bias) logits = tf.add(logits, tf.reshape(tf.slice(bias, [i, h, 0, 0], [1, 1, nq, nk]), [nq, nk]));
      const p = tf.softmax(logits) as tf.Tensor2D;
      if (opts.wantProbs) probs.push(p);
      heads_.push(tf.matMul(p, tf.slice(vi, [0, h * dv], [nk, dv]) as tf.Tensor2D));
    }
    outs.push(heads > 1 ? tf.concat(heads_, 1) : heads_[0]);
  }
  const o = tf.stack(outs); // [B, Nq, C]
  return opts.wantProbs ? [o, tf.reshape(tf.stack(probs), [b, heads, nq, nk])] : [o];
}
