/**
 * Latents → images, as diffusers' pipelines finish: decoded = vae.decode(latents / scaling_factor), then
 * image = clamp(decoded / 2 + 0.5, 0, 1). One image at a time, so a big batch never holds several full-size
 * decoder activations at once (the results are identical to a batched decode).
 */
import * as tf from '@tensorflow/tfjs-core';
import { LatentDecoder } from './types';

/** Raw decoder output [B, H, W, 3] in about [−1, 1]; the caller owns it. */
export function decodeLatentsRaw(vae: LatentDecoder, latents: tf.Tensor4D): tf.Tensor4D {
  const parts: tf.Tensor4D[] = [];
  try {
    for (let i = 0; i < latents.shape[0]; i++) {
      parts.push(
        tf.tidy(() => {
          const one = tf.slice(latents, [i, 0, 0, 0], [1, -1, -1, -1]);
          return vae.decode(tf.div(one, vae.scalingFactor));
        }),
      );
    }
    return (parts.length === 1 ? parts[0].clone() : tf.concat(parts, 0)) as tf.Tensor4D;
  } finally {
    tf.dispose(parts);
  }
}

/** decoded in [−1, 1] → image in [0, 1] (clamped). */
export function toUnitRange(decoded: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.clipByValue(tf.add(tf.div(decoded, 2), 0.5), 0, 1) as tf.Tensor4D);
}

/** Images NHWC in [0, 1]; the caller owns the result. */
export function decodeLatents(vae: LatentDecoder, latents: tf.Tensor4D): tf.Tensor4D {
  const decoded = decodeLatentsRaw(vae, latents);
  try {
    return toUnitRange(decoded);
  } finally {
    decoded.dispose();
  }
}
