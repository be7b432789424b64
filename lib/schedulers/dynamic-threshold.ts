/**
 * Dynamic thresholding (Imagen, Saharia et al. 2022, §2.3), as diffusers' `_threshold_sample`: per batch item,
 * s = clamp(quantile(|x0|, ratio), 1, sample_max_value); x0 ← clamp(x0, −s, s) / s.
 * The quantile uses linear interpolation between order statistics (torch.quantile's default).
 */
import * as tf from '@tensorflow/tfjs-core';

export function dynamicThreshold(x0: tf.Tensor, ratio: number, maxValue: number): tf.Tensor {
  return tf.tidy(() => {
    const batch = x0.shape[0];
    const n = x0.size / batch;
    const flat = tf.abs(tf.reshape(x0, [batch, n])) as tf.Tensor2D;
    // topk sorts descending: ascending index i is descending index n−1−i.
    const { values: desc, indices } = tf.topk(flat, n, true);
    indices.dispose();
    const pos = ratio * (n - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(lo + 1, n - 1);
    const frac = pos - lo;
    const vLo = tf.slice(desc, [0, n - 1 - lo], [batch, 1]);
    const vHi = tf.slice(desc, [0, n - 1 - hi], [batch, 1]);
    const q = tf.add(vLo, tf.mul(tf.sub(vHi, vLo), frac));
    const s = tf.clipByValue(q, 1, maxValue); // [B, 1]
    const flatSigned = tf.reshape(x0, [batch, n]);
    const clipped = tf.div(tf.minimum(tf.maximum(flatSigned, tf.neg(s)), s), s);
    return tf.reshape(clipped, x0.shape);
  });
}
