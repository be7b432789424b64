/**
 * The DETEX objective (paper §3), on given tensors. Each function returns per-item losses [B] so that a
 * trainer can accumulate micro-batches and weight items (the filtered images skip the [B_i] term).
 * Inputs are NHWC; maps are cross-attention probabilities already averaged over heads.
 */
import * as tf from '@tensorflow/tfjs-core';
import { CANorm } from './config';

/**
 * L_LDM, eq. 1: E‖ε − ε_θ(z_t, t, c)‖² — per item, the mean squared error over [h, w, c].
 * Also L_pr, eq. 2, which is the same loss on the class images with the class prompt.
 * `mask` [B, h, w, 1] (the "masked diffusion loss" option, appendix B.1): mean over the masked elements only.
 */
export function diffusionLoss(pred: tf.Tensor4D, target: tf.Tensor4D, mask?: tf.Tensor4D): tf.Tensor1D {
  return tf.tidy(() => {
    if (!tf.util.arraysEqual(pred.shape, target.shape)) {
      throw new Error(`Error in diffusionLoss: prediction [${pred.shape}] and target [${target.shape}] differ`);
    }
    const se = tf.squaredDifference(pred, target);
    if (!mask) return tf.mean(se, [1, 2, 3]) as tf.Tensor1D;
    const [b, h, w] = pred.shape;
    if (!tf.util.arraysEqual(mask.shape, [b, h, w, 1])) {
      throw new Error(`Error in diffusionLoss: mask must be [${b}, ${h}, ${w}, 1], got [${mask.shape}]`);
    }
    const num = tf.sum(tf.mul(se, mask), [1, 2, 3]);
    // An empty mask would divide by zero: count at least one element.
    const den = tf.maximum(tf.mul(tf.sum(mask, [1, 2, 3]), pred.shape[3]), 1);
    return tf.div(num, den) as tf.Tensor1D;
  });
}

/** Mean of the captured maps of several attn2 layers of one resolution: each [B, h, w, T] → [B, h, w, T]. */
export function averageLayerMaps(maps: readonly tf.Tensor4D[]): tf.Tensor4D {
  if (maps.length === 0) throw new Error('Error in averageLayerMaps: no cross-attention maps were captured at the CA resolution');
  return tf.tidy(() => {
    const shape = maps[0].shape;
    for (const m of maps) {
      if (!tf.util.arraysEqual(m.shape, shape)) throw new Error(`Error in averageLayerMaps: map shapes [${m.shape}] and [${shape}] differ`);
    }
    return (maps.length === 1 ? maps[0].clone() : tf.div(tf.addN(maps as tf.Tensor4D[]), maps.length)) as tf.Tensor4D;
  });
}

/** Column `position` of item `item`'s averaged map [B, h, w, T] → [h, w]. Slices, not gather (WASM has no gather gradient). */
export function tokenMap(avg: tf.Tensor4D, item: number, position: number): tf.Tensor2D {
  return tf.tidy(() => {
    const [, h, w] = avg.shape;
    return tf.reshape(tf.slice(avg, [item, 0, 0, position], [1, h, w, 1]), [h, w]) as tf.Tensor2D;
  });
}

/**
 * One term of L_CA, eq. 4: ‖A(token, z_t) − target‖ for maps [B, h, w] and targets [B, h, w] → [B].
 * 'mse': mean squared error of the raw map (default). 'max-normalised': each map divided by its max first
 * (Break-A-Scene), so the loss asks for the map's shape, not for the token to take all the attention mass.
 */
export function attentionTermLoss(maps: tf.Tensor3D, targets: tf.Tensor3D, norm: CANorm): tf.Tensor1D {
  return tf.tidy(() => {
    if (!tf.util.arraysEqual(maps.shape, targets.shape)) {
      throw new Error(`Error in attentionLoss: maps [${maps.shape}] and masks [${targets.shape}] differ (resize masks to the CA resolution)`);
    }
    const a = norm === 'max-normalised' ? tf.div(maps, tf.add(tf.max(maps, [1, 2], true), 1e-8)) : maps;
    return tf.mean(tf.squaredDifference(a, targets), [1, 2]) as tf.Tensor1D;
  });
}

/**
 * L_CA, eq. 4, per item: ‖A(P_i, z_t) − m_i‖ + w_i·‖A(B_i, z_t) − m̄_i‖, where w_i = 0 when item i was
 * trained on its background-filtered version (joint training skips the [B_i] term) and 1 otherwise.
 */
export function attentionLoss(
  poseMaps: tf.Tensor3D,
  backgroundMaps: tf.Tensor3D,
  masks: tf.Tensor3D,
  backgroundWeight: readonly number[],
  norm: CANorm,
): tf.Tensor1D {
  return tf.tidy(() => {
    const p = attentionTermLoss(poseMaps, masks, norm);
    const b = attentionTermLoss(backgroundMaps, tf.sub(1, masks) as tf.Tensor3D, norm);
    return tf.add(p, tf.mul(b, tf.tensor1d(backgroundWeight.slice()))) as tf.Tensor1D;
  });
}

/** L, eq. 5: L_LDM + λ_pr·L_pr + λ_CA·L_CA (scalars; a term switched off is passed as undefined). */
export function totalLoss(ldm: tf.Scalar, pr: tf.Scalar | undefined, ca: tf.Scalar | undefined, lambdaPr: number, lambdaCA: number): tf.Scalar {
  return tf.tidy(() => {
    let l: tf.Scalar = ldm.clone();
    if (pr && lambdaPr !== 0) l = tf.add(l, tf.mul(pr, lambdaPr));
    if (ca && lambdaCA !== 0) l = tf.add(l, tf.mul(ca, lambdaCA));
    return l;
  });
}
