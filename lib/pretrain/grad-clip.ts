/**
 * Global-norm gradient clipping as torch.nn.utils.clip_grad_norm_ (norm over all gradients together,
 * scale = max_norm / (norm + 1e-6) when the norm exceeds max_norm).
 */
import * as tf from '@tensorflow/tfjs-core';

/** Returns the pre-clip global norm and the (possibly) rescaled gradients; input tensors are disposed when replaced. */
export function clipByGlobalNorm(grads: Map<string, tf.Tensor>, maxNorm: number | undefined): { norm: number; grads: Map<string, tf.Tensor> } {
  const sq = tf.tidy(() => tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g)))));
  const norm = Math.sqrt(sq.dataSync()[0]);
  sq.dispose();
  if (maxNorm === undefined || !(norm > maxNorm)) return { norm, grads };
  const scale = maxNorm / (norm + 1e-6);
  const out = new Map<string, tf.Tensor>();
  for (const [k, g] of grads) {
    out.set(k, tf.mul(g, scale));
    g.dispose();
  }
  return { norm, grads: out };
}
