/**
 * What a VAE round trip (encode → latent mean → decode) leaves of the attributes the world oracle reads:
 * the background kind and the subject's body colour, both with the true mask. This is the ceiling of the
 * text-to-image oracle scores (generated images are decoded by the same decoder), so it measures whether
 * the VAE or the UNet limits them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { hostTensor, HostTensor, toTf } from '../io/host-tensor';
import { AutoencoderKL } from '../models/vae/autoencoder-kl';
import { estimateBackground, estimateColour } from '../world';
import { WorldBatch } from './world-data';

export interface RoundTripScores {
  /** share of round trips whose oracle background kind (true mask) is the scene's */
  background: number;
  /** share whose oracle body colour inside the true mask is the scene's */
  colour: number;
  n: number;
}

/** Round trips `set` through `vae` in chunks of `chunk` images (bounded memory) and scores them. */
export function vaeRoundTripScores(vae: AutoencoderKL, set: WorldBatch, chunk = 16): RoundTripScores {
  const n = set.images.shape[0];
  let background = 0;
  let colour = 0;
  const all = toTf(set.images) as tf.Tensor4D;
  try {
    for (let i = 0; i < n; i += chunk) {
      const k = Math.min(chunk, n - i);
      const out = tf.tidy(() => vae.decode(vae.encode(tf.slice(all, [i, 0, 0, 0], [k, -1, -1, -1])).mean));
      const images = toUint8Images(out);
      for (const [j, img] of images.entries()) {
        const scene = set.scenes[i + j];
        if (estimateBackground(img, scene.mask).kind === scene.attributes.background) background++;
        if (estimateColour(img, scene.mask).colour === scene.attributes.colour) colour++;
      }
    }
  } finally {
    all.dispose();
  }
  return { background: background / n, colour: colour / n, n };
}

/** [B, H, W, C] in [−1, 1] → B uint8 host images; disposes `t`. */
function toUint8Images(t: tf.Tensor4D): HostTensor[] {
  const [b, h, w, c] = t.shape;
  const d = t.dataSync();
  t.dispose();
  const px = h * w * c;
  return Array.from({ length: b }, (_, j) => {
    const u8 = new Uint8Array(px);
    for (let p = 0; p < px; p++) u8[p] = Math.floor(Math.min(1, Math.max(0, d[j * px + p] / 2 + 0.5)) * 255 + 0.5);
    return hostTensor('uint8', [h, w, c], u8);
  });
}
