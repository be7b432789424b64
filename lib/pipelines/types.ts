/**
 * What the sampling pipeline needs from its parts, as small interfaces: the UNet2DConditionModel and the
 * AutoencoderKL satisfy them, and tests can pass tiny fakes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { HostTensor } from '../io/host-tensor';
import { DDIMScheduler } from '../schedulers/ddim';

/** ε-network (or v / x0, per the scheduler's prediction_type). NHWC in and out; the caller owns the result. */
export interface Denoiser {
  forward(sample: tf.Tensor4D, timesteps: number[], encoderHiddenStates: tf.Tensor3D): tf.Tensor4D;
}

/** The VAE side: decode(latent / scalingFactor) → image in about [−1, 1]. */
export interface LatentDecoder {
  decode(latent: tf.Tensor4D): tf.Tensor4D;
  readonly scalingFactor: number;
  /** image pixels per latent pixel (8 for SD v1) */
  readonly scaleFactor: number;
  readonly config: { latent_channels: number };
}

export interface StepInfo {
  /** steps done so far, 1…total */
  step: number;
  total: number;
  /** the timestep just denoised */
  t: number;
  /** a small preview of the current x̂0 estimate, NHWC [B, h, w, 3] in [0, 1], when asked for */
  preview?: HostTensor;
}

/** Per-step tensors for debugging and parity; valid only during the call (copy what you keep). */
export interface StepTensors {
  /** guided model output at this step */
  noisePred: tf.Tensor4D;
  /** latents after this step */
  latents: tf.Tensor4D;
  /** x̂0 estimated at this step */
  predOriginal: tf.Tensor4D;
}

export interface PreviewOptions {
  /** a preview every this many steps (and at the last step) */
  every: number;
  /** 'approx': a fixed linear latent→RGB map at latent size (cheap); 'vae': a full VAE decode (exact, slow) */
  mode?: 'approx' | 'vae';
}

export interface SampleOptions {
  unet: Denoiser;
  vae: LatentDecoder;
  scheduler: DDIMScheduler;
  /** text-encoder output for the prompts, [B, N, C] */
  promptEmbeds: tf.Tensor3D;
  /** unconditional / negative-prompt embeddings, [B, N, C] (or [1, N, C], shared); required when guidanceScale > 1 */
  negativeEmbeds?: tf.Tensor3D;
  /** classifier-free guidance weight w; guidance is on when w > 1 (as in diffusers). Default 7.5. */
  guidanceScale?: number;
  /** number of denoising steps. Default 50. */
  steps?: number;
  /** DDIM η. Default 0. */
  eta?: number;
  /** seed for the initial latents and η noise (ignored for the latents when `latents` is given) */
  seed?: number;
  /** initial latents, NHWC [B·numImagesPerPrompt, h, w, latent_channels]; the pipeline does not take ownership */
  latents?: tf.Tensor4D;
  /** image size in pixels (multiples of vae.scaleFactor); taken from `latents` when given */
  height?: number;
  width?: number;
  numImagesPerPrompt?: number;
  /** 'image' (default) decodes with the VAE; 'latent' returns latents only */
  outputType?: 'image' | 'latent';
  preview?: PreviewOptions;
  /** called after every step; returning false cancels */
  onStep?: (info: StepInfo) => boolean | void | Promise<boolean | void>;
  onStepTensors?: (step: number, t: number, tensors: StepTensors) => void;
  signal?: AbortSignal;
}

export interface SampleResult {
  /** final latents, NHWC [B', h, w, latent_channels] (not divided by scalingFactor); the caller owns it */
  latents: tf.Tensor4D;
  /** images NHWC [B', H, W, 3] in [0, 1] (unless outputType 'latent'); the caller owns it */
  images?: tf.Tensor4D;
  timesteps: number[];
}
