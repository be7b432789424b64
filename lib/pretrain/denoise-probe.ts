/**
 * How well a text-to-image UNet denoises real scenes under their own captions: each clean latent is noised to
 * timestep t with fixed noise, and the x0 the ε-prediction implies, x0 = (x_t − √(1−ᾱ)·ε̂)/√ᾱ, is compared with
 * the clean latent. Reported as rms error over the latent's std, beside the rms of the noise in the input on the
 * same scale, so models on different VAEs (different latent scales) compare.
 *
 * Session 13 found the shipped UNet's x0 already lumpy at t = 100 (error 0.15 of the latent std where the input's
 * noise is 0.34, `t2i-eval.js --denoise 32`): a model that cannot clean a nearly clean input cannot finish a sample with crisp outlines or
 * patterns, whatever its conditioning.
 */
import * as tf from '@tensorflow/tfjs-core';
import { toTf } from '../io/host-tensor';
import { Rng } from '../random';
import { DDIMScheduler } from '../schedulers/ddim';
import { RenderedScene } from '../world';
import { NoisePredictor } from './likelihood-probe';
import { packScenes } from './world-data';

export interface DenoiseAtTimestep {
  timestep: number;
  /** rms(x0̂ − x0) / std(x0) */
  x0Error: number;
  /** rms of the input's noise term √(1−ᾱ)/√ᾱ·ε on the same scale: what the UNet had to remove */
  inputNoise: number;
}

export const DENOISE_TIMESTEPS = [50, 100, 250, 400, 700] as const;

/** `latents` [N, h, w, c] are the scenes' clean latents as the UNet sees them (VAE mean × scaling factor). */
export function probeDenoising(
  predict: NoisePredictor,
  scheduler: DDIMScheduler,
  latents: tf.Tensor4D,
  captions: readonly string[],
  o: { timesteps?: readonly number[]; seed?: number } = {},
): DenoiseAtTimestep[] {
  const n = latents.shape[0];
  if (captions.length !== n) throw new Error(`denoise probe: ${n} latents but ${captions.length} captions`);
  const std = tf.tidy(() => Math.sqrt(tf.moments(latents).variance.dataSync()[0]));
  if (!(std > 0)) throw new Error('denoise probe: the latents are constant (std 0); nothing to compare against');
  const rng = new Rng(o.seed ?? 5).fork('denoise-probe');
  return (o.timesteps ?? DENOISE_TIMESTEPS).map((t) => {
    const ab = scheduler.alphasCumprod[t];
    if (ab === undefined) throw new Error(`denoise probe: timestep ${t} is outside the scheduler's ${scheduler.alphasCumprod.length} steps`);
    const noise = rng.fork(t).normal([...latents.shape]);
    const x0Error = tf.tidy(() => {
      const eps = tf.tensor4d(noise, latents.shape);
      const ts = new Array<number>(n).fill(t);
      const noisy = scheduler.addNoise(latents, eps, ts) as tf.Tensor4D;
      const epsHat = predict(noisy, ts, [...captions]);
      const x0 = tf.div(tf.sub(noisy, tf.mul(epsHat, Math.sqrt(1 - ab))), Math.sqrt(ab));
      return Math.sqrt(tf.mean(tf.squaredDifference(x0, latents)).dataSync()[0]) / std;
    });
    return { timestep: t, x0Error, inputNoise: Math.sqrt((1 - ab) / ab) / std };
  });
}

/** The probe on a model's VAE (latent mean) and UNet, for rendered scenes; tensors it makes are disposed. */
export function probeSceneDenoising(
  m: { encode: (images: tf.Tensor4D) => tf.Tensor4D; predict: NoisePredictor; scheduler: DDIMScheduler },
  scenes: readonly RenderedScene[],
  o: { timesteps?: readonly number[]; seed?: number } = {},
): DenoiseAtTimestep[] {
  const latents = tf.tidy(() => m.encode(toTf(packScenes([...scenes]).images) as tf.Tensor4D));
  try {
    return probeDenoising(m.predict, m.scheduler, latents, scenes.map((s) => s.caption), o);
  } finally {
    latents.dispose();
  }
}

export function formatDenoising(r: readonly DenoiseAtTimestep[]): string {
  return r.map((p) => `t ${p.timestep} ${p.x0Error.toFixed(3)} (input noise ${p.inputNoise.toFixed(3)})`).join(', ');
}
