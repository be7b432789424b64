/**
 * Training on pattern sets (lib/world/pattern-sets.ts): each run of `groupSize` batch items is one scene under
 * every pattern, and here it also shares one timestep, one noise draw and one caption-dropout decision. The set's
 * items then differ only by the pattern drawn and the word that names it, so what the loss asks of the pattern
 * word is not drowned by four scenes' worth of unrelated variation (common random numbers).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../random';
import { DDIMScheduler } from '../schedulers/ddim';
import { makeTrainingNoise, TrainingNoise } from '../schedulers/training-noise';

function checkGroups(batch: number, groupSize: number): number {
  if (!(Number.isInteger(groupSize) && groupSize > 0 && batch % groupSize === 0)) {
    throw new Error(`pattern-sets: a batch of ${batch} does not split into groups of ${groupSize}`);
  }
  return batch / groupSize;
}

/** makeTrainingNoise with one t and one ε per group of `groupSize` consecutive items. Tensors belong to the caller. */
export function groupedTrainingNoise(scheduler: DDIMScheduler, latents: tf.Tensor4D, rng: Rng, groupSize: number): TrainingNoise {
  const [batch, h, w, c] = latents.shape;
  const groups = checkGroups(batch, groupSize);
  const T = scheduler.config.num_train_timesteps;
  const perGroup = Array.from({ length: groups }, () => rng.int(T));
  const timesteps = perGroup.flatMap((t) => Array<number>(groupSize).fill(t));
  const noise = tf.tidy(() => {
    const drawn = tf.tensor3d(rng.normal([groups, 1, h * w * c]), [groups, 1, h * w * c]);
    return tf.reshape(tf.tile(drawn, [1, groupSize, 1]), [batch, h, w, c]);
  });
  try {
    return makeTrainingNoise(scheduler, latents, rng, { timesteps, noise });
  } finally {
    noise.dispose();
  }
}

/** Drops (→ "") every caption of a group together with probability `p`, so a set keeps its pattern words or loses them all. */
export function dropCaptionGroups(captions: readonly string[], rng: Rng, p: number, groupSize: number): string[] {
  const groups = checkGroups(captions.length, groupSize);
  const dropped = Array.from({ length: groups }, () => rng.nextDouble() < p);
  return captions.map((c, i) => (dropped[Math.floor(i / groupSize)] ? '' : c));
}
