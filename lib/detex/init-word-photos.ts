/**
 * [V]'s initialiser picked for a set of photos outside a trainer (probes, tests): the photos and masks prepared as
 * the trainer prepares them, encoded by the VAE, then scored by init-word.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { AutoencoderKL } from '../models/vae';
import { TrainingItem, prepareTrainingData } from './data';
import { InitWordChoice, InitWordModels, chooseInitWord } from './init-word';
import { vaeMoments } from './trainer';

export function chooseInitWordForPhotos(
  models: InitWordModels & { vae: AutoencoderKL },
  items: readonly TrainingItem[],
  candidates: readonly string[],
  classWord: string,
  seed = 0,
): InitWordChoice {
  const side = models.unet.config.raw.sample_size as number;
  const data = prepareTrainingData(items, {
    resolution: side * models.vae.scaleFactor, latentSize: [side, side], caSize: [side, side], blank: [1, 1, 1], warn: () => undefined,
  });
  try {
    const mom = vaeMoments(models.vae, data.images);
    const z = tf.tidy(() => tf.mul(mom.mean, models.vae.scalingFactor) as tf.Tensor4D);
    tf.dispose([mom.mean, mom.std]);
    try {
      return chooseInitWord(models, z, candidates, classWord, seed, data.masksLatent);
    } finally {
      z.dispose();
    }
  } finally {
    data.dispose();
  }
}
