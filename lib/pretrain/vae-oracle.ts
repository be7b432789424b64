/**
 * What a VAE round trip (encode → latent mean → decode) leaves of the attributes the world oracle reads:
 * the background kind and the subject's body colour, both with the true mask. This is the ceiling of the
 * text-to-image oracle scores (generated images are decoded by the same decoder), so it measures whether
 * the VAE or the UNet limits them.
 */
import { AutoencoderKL } from '../models/vae/autoencoder-kl';
import { estimateBackground, estimateColour } from '../world';
import { vaeRoundTrip } from './classifier-eval';
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
  const images = vaeRoundTrip(vae, set.scenes.map((s) => s.image), chunk);
  let background = 0;
  let colour = 0;
  images.forEach((img, i) => {
    const scene = set.scenes[i];
    if (estimateBackground(img, scene.mask).kind === scene.attributes.background) background++;
    if (estimateColour(img, scene.mask).colour === scene.attributes.colour) colour++;
  });
  return { background: background / images.length, colour: colour / images.length, n: images.length };
}
