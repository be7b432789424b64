/**
 * The detex-mini VAE's reconstruction loss, shared by full training (scripts/pretrain/vae.ts) and the
 * decoder-only fine-tune (scripts/pretrain/vae-decoder.ts): L1 + L2 + an edge term (L1 of neighbour
 * differences), which keeps the soft reconstructions of a plain L2 from washing out stripes, dots and edges.
 */
import * as tf from '@tensorflow/tfjs-core';

export const W_L2 = 1;
export const W_EDGE = 0.5;

/** Mean |∂x − ∂y| over horizontal and vertical neighbour differences. */
export function edgeLoss(x: tf.Tensor4D, y: tf.Tensor4D): tf.Scalar {
  const [b, h, w, c] = x.shape;
  const d = (t: tf.Tensor4D, axis: 1 | 2) =>
    axis === 1
      ? tf.sub(tf.slice(t, [0, 1, 0, 0], [b, h - 1, w, c]), tf.slice(t, [0, 0, 0, 0], [b, h - 1, w, c]))
      : tf.sub(tf.slice(t, [0, 0, 1, 0], [b, h, w - 1, c]), tf.slice(t, [0, 0, 0, 0], [b, h, w - 1, c]));
  return tf.add(tf.mean(tf.abs(tf.sub(d(x, 1), d(y, 1)))), tf.mean(tf.abs(tf.sub(d(x, 2), d(y, 2))))) as tf.Scalar;
}

export interface ReconstructionLoss {
  loss: tf.Scalar;
  l1: tf.Scalar;
  l2: tf.Scalar;
  edge: tf.Scalar;
}

/** `x` the target, `y` the reconstruction, both [B, H, W, 3] in [−1, 1]. */
export function reconstructionLoss(x: tf.Tensor4D, y: tf.Tensor4D): ReconstructionLoss {
  const diff = tf.sub(y, x);
  const l1 = tf.mean(tf.abs(diff)) as tf.Scalar;
  const l2 = tf.mean(tf.square(diff)) as tf.Scalar;
  const edge = edgeLoss(x, y);
  const loss = tf.addN([l1, tf.mul(l2, W_L2), tf.mul(edge, W_EDGE)]) as tf.Scalar;
  return { loss, l1, l2, edge };
}
