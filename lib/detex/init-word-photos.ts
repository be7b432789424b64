/**
 * [V]'s initialiser picked for a set of photos outside a trainer (probes, tests): the photos and masks prepared as
 * the trainer prepares them, encoded by the VAE, then scored by init-word.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { AutoencoderKL } from '../models/vae';
import { UNet2DConditionModel } from '../models/unet';
import { TrainingItem, prepareTrainingData } from './data';
import { InitWordChoice, InitWordModels, chooseInitWord } from './init-word';
import { vaeMoments } from './trainer';

/**
 * The photos' clean latents (q(z|x) means × scaling_factor) [N, h, w, c] and their subject masks at latent size
 * [N, h, w, 1], at the UNet's resolution. Both belong to the caller.
 */
export function photoLatents(models: { unet: UNet2DConditionModel; vae: AutoencoderKL }, items: readonly TrainingItem[]): { latents: tf.Tensor4D; mask: tf.Tensor4D } {
  const side = models.unet.config.raw.sample_size as number;
  const data = prepareTrainingData(items, {
    resolution: side * models.vae.scaleFactor, latentSize: [side, side], caSize: [side, side], blank: [1, 1, 1], warn: () => undefined,
  });
  try {
    const mom = vaeMoments(models.vae, data.images);
    const latents = tf.tidy(() => tf.mul(mom.mean, models.vae.scalingFactor) as tf.Tensor4D);
    tf.dispose([mom.mean, mom.std]);
    return { latents, mask: tf.clone(data.masksLatent) };
  } finally {
    data.dispose();
  }
}

export function chooseInitWordForPhotos(
  models: InitWordModels & { vae: AutoencoderKL },
  items: readonly TrainingItem[],
  candidates: readonly string[],
  classWord: string,
  seed = 0,
): InitWordChoice {
  const { latents, mask } = photoLatents(models, items);
  try {
    return chooseInitWord(models, latents, candidates, classWord, seed, mask);
  } finally {
    tf.dispose([latents, mask]);
  }
}
