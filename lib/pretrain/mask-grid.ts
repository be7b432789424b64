/**
 * The subject mask as an area share per cell of a coarser grid (a latent or an attention map): what the
 * subject-weighted loss, the word-attention term and the attention-share measurement each weigh by.
 */
import * as tf from '@tensorflow/tfjs-core';

/** masks [B, S, S2, 1] in {0, 1} → [B, h, w, 1] (caller owns it); `caller` names the user in errors. */
export function maskOnGrid(masks: tf.Tensor4D, h: number, w: number, caller: string): tf.Tensor4D {
  const [, s, s2, c] = masks.shape;
  if (c !== 1) throw new Error(`${caller}: masks must be [B, S, S, 1], got [${masks.shape.join(', ')}]`);
  for (const [size, cells] of [[s, h], [s2, w]]) {
    if (!(Number.isInteger(cells) && cells > 0 && size % cells === 0)) {
      throw new Error(`${caller}: a ${h}×${w} grid does not divide the ${s}×${s2} mask`);
    }
  }
  // a latent or attention grid shrinks both sides by the same factor; unequal ones mean the wrong grid (a square
  // latent for a non-square mask)
  if (s / h !== s2 / w) throw new Error(`${caller}: a ${h}×${w} grid shrinks the ${s}×${s2} mask by ${s / h} and ${s2 / w}, not one factor`);
  if (s === h && s2 === w) return tf.clone(masks);
  return tf.avgPool(masks, s / h, s / h, 'valid');
}
