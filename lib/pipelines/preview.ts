/**
 * Step previews. 'approx' maps the 4 SD latent channels to RGB with a fixed linear map at latent resolution
 * (the commonly used SD v1 "latent → RGB" approximation, e.g. the factors ComfyUI's latent previews use; good
 * enough to watch composition emerge, meaningless for a random tiny VAE); other latent widths fall back to the
 * first three channels. 'vae' decodes exactly.
 */
import * as tf from '@tensorflow/tfjs-core';
import { fromTfSync, HostTensor } from '../io/host-tensor';
import { decodeLatents } from './decode';
import { LatentDecoder } from './types';

// Rows: latent channels 0..3; columns: R, G, B. Approximates the SD v1 decoder's mean colour per latent.
const SD_LATENT_RGB = [
  [0.3512, 0.2297, 0.3227],
  [0.325, 0.4974, 0.235],
  [-0.2829, 0.1762, 0.2721],
  [-0.212, -0.2616, -0.7177],
];

export function latentPreview(vae: LatentDecoder, x0: tf.Tensor4D, mode: 'approx' | 'vae'): HostTensor {
  const img = tf.tidy(() => {
    if (mode === 'vae') return decodeLatents(vae, x0);
    const c = x0.shape[3];
    const rgb =
      c === 4
        ? tf.reshape(tf.matMul(tf.reshape(x0, [-1, 4]) as tf.Tensor2D, tf.tensor2d(SD_LATENT_RGB)), [...x0.shape.slice(0, 3), 3])
        : tf.slice(x0, [0, 0, 0, 0], [-1, -1, -1, Math.min(3, c)]);
    return tf.clipByValue(tf.div(tf.add(rgb, 1), 2), 0, 1); // [−1, 1] → [0, 1]
  });
  try {
    return fromTfSync(img);
  } finally {
    img.dispose();
  }
}
