/**
 * Keeps a fine-tuned text encoder's projected pooled embedding where the frozen original had it: 1 − cosine,
 * averaged over the batch. The image encoder was aligned with that embedding (CLIP-T, zero-shot, the quality
 * benchmark read it), while the UNet reads every position of last_hidden_state; anchoring only the pooled
 * projection leaves the per-token states free to carry what the UNet needs.
 */
import * as tf from '@tensorflow/tfjs-core';

export function textAnchorLoss(projected: tf.Tensor2D, reference: tf.Tensor2D): tf.Scalar {
  if (projected.shape.join() !== reference.shape.join()) {
    throw new Error(`text anchor: embeddings of shape [${projected.shape}] against reference [${reference.shape}]`);
  }
  return tf.tidy(() => {
    const unit = (t: tf.Tensor2D) => tf.div(t, tf.add(tf.norm(t, 'euclidean', 1, true), 1e-8));
    const cos = tf.sum(tf.mul(unit(projected), unit(reference)), 1);
    return tf.mean(tf.sub(1, cos)) as tf.Scalar;
  });
}
