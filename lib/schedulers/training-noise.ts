/**
 * The noising half of a diffusion training step (DDPM Algorithm 1, lines 2–5), for the trainer:
 * t ~ U{0, …, T−1} per item, ε ~ N(0, I), x_t = √ᾱ_t·x0 + √(1 − ᾱ_t)·ε, and the regression target the model is
 * trained on for the scheduler's prediction_type (ε, v, or x0). Randomness comes from a seeded `Rng`, so a
 * training run replays exactly.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../random';
import { DDIMScheduler } from './ddim';

export interface TrainingNoise {
  /** x_t, same shape as x0 */
  noisyLatents: tf.Tensor;
  /** ε */
  noise: tf.Tensor;
  /** what the model output is compared to */
  target: tf.Tensor;
  /** one t per batch item */
  timesteps: number[];
}

export interface TrainingNoiseOptions {
  /** Sample t from [minTimestep, maxTimestep) instead of the full range (both default to the full range). */
  minTimestep?: number;
  maxTimestep?: number;
  /** Use these timesteps instead of sampling (one per item). */
  timesteps?: number[];
  /** Use this noise instead of sampling (same shape as x0). */
  noise?: tf.Tensor;
}

/** All returned tensors belong to the caller. */
export function makeTrainingNoise(
  scheduler: DDIMScheduler,
  latents: tf.Tensor,
  rng: Rng,
  opts: TrainingNoiseOptions = {},
): TrainingNoise {
  const batch = latents.shape[0];
  const T = scheduler.config.num_train_timesteps;
  const lo = opts.minTimestep ?? 0;
  const hi = opts.maxTimestep ?? T;
  if (!(Number.isInteger(lo) && Number.isInteger(hi) && lo >= 0 && hi <= T && lo < hi)) {
    throw new Error(`makeTrainingNoise: timestep range [${lo}, ${hi}) must lie within [0, ${T})`);
  }
  // Timesteps first, then noise: the order of draws is part of the seed's meaning.
  const timesteps = opts.timesteps ?? Array.from({ length: batch }, () => lo + rng.int(hi - lo));
  if (timesteps.length !== batch) {
    throw new Error(`makeTrainingNoise: ${timesteps.length} timesteps for a batch of ${batch}`);
  }
  if (opts.noise && opts.noise.shape.join() !== latents.shape.join()) {
    throw new Error(`makeTrainingNoise: noise shape [${opts.noise.shape}] differs from latents [${latents.shape}]`);
  }
  const noise = opts.noise ? opts.noise.clone() : tf.tensor(rng.normal(latents.shape), latents.shape, 'float32');
  const noisyLatents = scheduler.addNoise(latents, noise, timesteps);
  let target: tf.Tensor;
  switch (scheduler.config.prediction_type) {
    case 'epsilon':
      target = noise.clone();
      break;
    case 'v_prediction':
      target = scheduler.getVelocity(latents, noise, timesteps);
      break;
    case 'sample':
      target = latents.clone();
      break;
    default:
      throw new Error(`makeTrainingNoise: prediction_type "${scheduler.config.prediction_type}" is not implemented`);
  }
  return { noisyLatents, noise, target, timesteps };
}
