/**
 * DINO's `interpolate_pos_encoding`: adapts the learned position embedding (trained on an S×S patch grid)
 * to the patch grid of the actual input.
 */
import * as tf from '@tensorflow/tfjs-core';
import { torchBicubicResizeHWC } from './torch-bicubic';

/**
 * posEmbed: [1, 1 + N, C] (CLS first, then the S×S grid row-major, S = √N).
 * imageH/imageW: the input's pixel size; patchSize: the patch stride. Returns a new [1, 1 + gh·gw, C]
 * with gh = ⌊H/p⌋, gw = ⌊W/p⌋.
 *
 * Exactly the reference's rule, quirks included:
 * - used unchanged only when gh·gw == N AND H == W (pixel sizes), so e.g. 64×72 with a 4×4 grid still
 *   resamples;
 * - otherwise torch bicubic with scale_factor = ((gh + 0.1)/√N, (gw + 0.1)/√N): the +0.1 makes the output
 *   size floor(S·scale) land on (gh, gw), and the scale (not out/in) sets the sample positions.
 */
export function interpolatePosEncoding(posEmbed: tf.Tensor3D, imageH: number, imageW: number, patchSize: number): tf.Tensor3D {
  const [one, n1, c] = posEmbed.shape;
  if (one !== 1) throw new Error(`interpolatePosEncoding: pos_embed must be [1, 1+N, C], got [${posEmbed.shape}]`);
  const n = n1 - 1;
  const gh = Math.floor(imageH / patchSize);
  const gw = Math.floor(imageW / patchSize);
  if (gh < 1 || gw < 1) throw new Error(`interpolatePosEncoding: image ${imageH}x${imageW} is smaller than one ${patchSize}px patch`);
  if (gh * gw === n && imageH === imageW) return tf.clone(posEmbed);

  const sqrtN = Math.sqrt(n);
  const side = Math.trunc(sqrtN);
  if (side * side !== n) throw new Error(`interpolatePosEncoding: pos_embed has ${n} patch positions, not a square grid`);
  return tf.tidy(() => {
    const cls = tf.slice(posEmbed, [0, 0, 0], [1, 1, c]);
    const grid = tf.reshape(tf.slice(posEmbed, [0, 1, 0], [1, n, c]), [side, side, c]) as tf.Tensor3D;
    const resized = torchBicubicResizeHWC(grid, (gh + 0.1) / sqrtN, (gw + 0.1) / sqrtN);
    const [oh, ow] = resized.shape;
    if (oh !== gh || ow !== gw) {
      // The reference asserts the same thing; reaching it means a grid the +0.1 trick cannot hit.
      throw new Error(`interpolatePosEncoding: resized grid is ${oh}x${ow}, expected ${gh}x${gw} (pos grid ${side}x${side})`);
    }
    return tf.concat([cls, tf.reshape(resized, [1, gh * gw, c])], 1) as tf.Tensor3D;
  });
}
