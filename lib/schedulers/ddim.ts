/**
 * DDIMScheduler (Song, Meng & Ermon 2021, "Denoising Diffusion Implicit Models"), matching diffusers v0.27.2
 * `DDIMScheduler` numerically: ᾱ built in float32 as torch does, the per-step scalars rounded to float32 as
 * torch's 0-d float32 tensors are, the tensor arithmetic in float32.
 *
 * Tensors are elementwise here, so any layout works (the pipeline passes NHWC latents); batch is axis 0.
 * Every returned tensor belongs to the caller.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../random';
import { alphasCumprod, makeBetas } from './beta-schedules';
import { DDIMConfig, PredictionType, resolveDDIMConfig } from './ddim-config';
import { dynamicThreshold } from './dynamic-threshold';
import { inferenceTimesteps } from './timestep-spacing';

const f32 = Math.fround;

export interface DDIMStepOptions {
  /** η of eq. 16: 0 = deterministic DDIM, 1 = DDPM-like ancestral noise. */
  eta?: number;
  /** Re-derive ε from the clipped x̂0 (diffusers `use_clipped_model_output`). */
  useClippedModelOutput?: boolean;
  /** The ε_t of eq. 12's random term, same shape as `sample` (used when eta > 0). */
  varianceNoise?: tf.Tensor;
  /** Or draw it from this generator … */
  rng?: Rng;
  /** … or from a fresh generator with this seed. */
  seed?: number;
}

export interface DDIMStepOutput {
  /** x_{t−1} */
  prevSample: tf.Tensor;
  /** x̂0, the model's estimate of the clean sample (after clipping/thresholding). */
  predOriginalSample: tf.Tensor;
}

export class DDIMScheduler {
  readonly config: DDIMConfig;
  /** β_t, float32, t = 0..T−1 */
  readonly betas: Float32Array;
  /** ᾱ_t = Π(1 − β_s), float32 */
  readonly alphasCumprod: Float32Array;
  /** ᾱ used as "α_prev" after the last step: 1, or ᾱ_0 when set_alpha_to_one is false. */
  readonly finalAlphaCumprod: number;
  /** σ of the initial noise: 1 for DDIM. */
  readonly initNoiseSigma = 1.0;
  /** Inference timesteps (descending) after setTimesteps; every training timestep before. */
  timesteps: number[];
  numInferenceSteps: number | null = null;

  constructor(config: Partial<DDIMConfig> | Record<string, unknown> = {}, warn?: (msg: string) => void) {
    this.config = resolveDDIMConfig(config as Record<string, unknown>, warn);
    this.betas = makeBetas(this.config);
    this.alphasCumprod = alphasCumprod(this.betas);
    this.finalAlphaCumprod = this.config.set_alpha_to_one ? 1.0 : this.alphasCumprod[0];
    const T = this.config.num_train_timesteps;
    this.timesteps = Array.from({ length: T }, (_, i) => T - 1 - i);
  }

  /** Build from a parsed `scheduler_config.json`. Only DDIMScheduler configs are accepted. */
  static fromConfig(raw: Record<string, unknown>, warn?: (msg: string) => void): DDIMScheduler {
    const cls = raw._class_name;
    if (cls !== undefined && cls !== 'DDIMScheduler') {
      // Other SD schedulers share the β keys, so DDIM sampling with them is well defined (as diffusers'
      // `DDIMScheduler.from_config(other.config)`); say so rather than fail.
      (warn ?? ((m: string) => console.warn(m)))(
        `DDIMScheduler: config is for ${String(cls)}; using its noise schedule with DDIM sampling`,
      );
    }
    return new DDIMScheduler(raw, warn);
  }

  /** An independent scheduler with the same config (its own timesteps), e.g. one per concurrent sampling run. */
  clone(): DDIMScheduler {
    return new DDIMScheduler({ ...this.config }, () => {});
  }

  /** Choose the `numInferenceSteps` timesteps of the sampling chain (the sub-sequence τ of §4.2). */
  setTimesteps(numInferenceSteps: number): void {
    const T = this.config.num_train_timesteps;
    if (!Number.isInteger(numInferenceSteps) || numInferenceSteps < 1) {
      throw new Error(`DDIMScheduler.setTimesteps: steps must be a positive integer, got ${numInferenceSteps}`);
    }
    if (numInferenceSteps > T) {
      throw new Error(
        `DDIMScheduler.setTimesteps: ${numInferenceSteps} steps cannot exceed num_train_timesteps ${T}`,
      );
    }
    this.numInferenceSteps = numInferenceSteps;
    this.timesteps = inferenceTimesteps(
      this.config.timestep_spacing,
      T,
      numInferenceSteps,
      this.config.steps_offset,
    );
  }

  /** DDIM needs no input scaling; kept so a pipeline reads like diffusers'. Returns `sample` itself. */
  scaleModelInput(sample: tf.Tensor, _t?: number): tf.Tensor {
    return sample;
  }

  private alphaProd(t: number): number {
    if (!Number.isInteger(t) || t >= this.config.num_train_timesteps) {
      throw new Error(`DDIMScheduler: timestep ${t} is outside [0, ${this.config.num_train_timesteps})`);
    }
    return t >= 0 ? this.alphasCumprod[t] : this.finalAlphaCumprod;
  }

  /** σ_t² of eq. 16 without η: (1 − ᾱ_prev)/(1 − ᾱ_t) · (1 − ᾱ_t/ᾱ_prev). */
  getVariance(t: number, prevT: number): number {
    const aT = this.alphaProd(t);
    const aPrev = this.alphaProd(prevT);
    const bT = f32(1 - aT);
    const bPrev = f32(1 - aPrev);
    return f32(f32(bPrev / bT) * f32(1 - f32(aT / aPrev)));
  }

  /**
   * One reverse step x_t → x_{t−1}.
   *
   * Notation (variable → DDIM paper):
   *   alphaProdT     → α_t           (the paper's α is the cumulative ᾱ of DDPM)
   *   alphaProdPrev  → α_{t−1}
   *   stdDevT        → σ_t           (eq. 16: η·√((1−α_{t−1})/(1−α_t))·√(1−α_t/α_{t−1}))
   *   predEpsilon    → ε_θ(x_t)
   *   predOriginal   → "predicted x_0" in eq. 12
   *   direction      → "direction pointing to x_t" in eq. 12
   *   varianceNoise  → ε_t, the "random noise" of eq. 12
   */
  step(modelOutput: tf.Tensor, t: number, sample: tf.Tensor, opts: DDIMStepOptions = {}): DDIMStepOutput {
    if (this.numInferenceSteps === null) {
      throw new Error('DDIMScheduler.step: call setTimesteps(n) before step()');
    }
    if (modelOutput.shape.join() !== sample.shape.join()) {
      throw new Error(
        `DDIMScheduler.step: model output shape [${modelOutput.shape}] differs from sample shape [${sample.shape}]`,
      );
    }
    const eta = opts.eta ?? 0;
    const c = this.config;
    return tf.tidy(() => {
      // 1. previous step value: t − T/n (diffusers uses this gap for every spacing)
      const prevT = t - Math.floor(c.num_train_timesteps / this.numInferenceSteps!);

      // 2. α_t, α_{t−1}, and 1 − α_t
      const alphaProdT = this.alphaProd(t);
      const alphaProdPrev = this.alphaProd(prevT);
      const betaProdT = f32(1 - alphaProdT);
      const sqrtAlphaT = f32(Math.sqrt(alphaProdT));
      const sqrtBetaT = f32(Math.sqrt(betaProdT));

      // 3. predicted x_0 (the "predicted x_0" term of eq. 12) and ε, by prediction type
      let predOriginal: tf.Tensor;
      let predEpsilon: tf.Tensor;
      switch (c.prediction_type as PredictionType) {
        case 'epsilon':
          predOriginal = tf.div(tf.sub(sample, tf.mul(modelOutput, sqrtBetaT)), sqrtAlphaT);
          predEpsilon = modelOutput;
          break;
        case 'sample':
          predOriginal = modelOutput.clone(); // a new tensor: the caller owns what step() returns
          predEpsilon = tf.div(tf.sub(sample, tf.mul(predOriginal, sqrtAlphaT)), sqrtBetaT);
          break;
        case 'v_prediction':
          predOriginal = tf.sub(tf.mul(sample, sqrtAlphaT), tf.mul(modelOutput, sqrtBetaT));
          predEpsilon = tf.add(tf.mul(modelOutput, sqrtAlphaT), tf.mul(sample, sqrtBetaT));
          break;
        default:
          throw new Error(`DDIMScheduler: prediction_type "${c.prediction_type}" is not implemented`);
      }

      // 4. clip or threshold x_0
      if (c.thresholding) {
        predOriginal = dynamicThreshold(predOriginal, c.dynamic_thresholding_ratio, c.sample_max_value);
      } else if (c.clip_sample) {
        predOriginal = tf.clipByValue(predOriginal, -c.clip_sample_range, c.clip_sample_range);
      }

      // 5. σ_t(η), eq. 16
      const variance = this.getVariance(t, prevT);
      const stdDevT = f32(eta * f32(Math.sqrt(variance)));

      if (opts.useClippedModelOutput) {
        // ε re-derived from the clipped x_0 (Glide)
        predEpsilon = tf.div(tf.sub(sample, tf.mul(predOriginal, sqrtAlphaT)), sqrtBetaT);
      }

      // 6. "direction pointing to x_t" of eq. 12: √(1 − α_{t−1} − σ_t²) · ε
      const dirCoef = f32(Math.sqrt(f32(f32(1 - alphaProdPrev) - f32(stdDevT * stdDevT))));
      const direction = tf.mul(predEpsilon, dirCoef);

      // 7. x_{t−1} without the random term, eq. 12
      let prevSample = tf.add(tf.mul(predOriginal, f32(Math.sqrt(alphaProdPrev))), direction);

      // 8. + σ_t ε_t (eq. 12's random noise) when η > 0
      if (eta > 0) {
        const noise = this.varianceNoise(sample, opts);
        prevSample = tf.add(prevSample, tf.mul(noise, stdDevT));
      }
      return { prevSample, predOriginalSample: predOriginal };
    });
  }

  private varianceNoise(sample: tf.Tensor, opts: DDIMStepOptions): tf.Tensor {
    if (opts.varianceNoise) {
      if (opts.varianceNoise.shape.join() !== sample.shape.join()) {
        throw new Error(
          `DDIMScheduler.step: varianceNoise shape [${opts.varianceNoise.shape}] differs from sample shape [${sample.shape}]`,
        );
      }
      return opts.varianceNoise;
    }
    const rng = opts.rng ?? (opts.seed !== undefined ? new Rng(opts.seed) : undefined);
    if (!rng) throw new Error('DDIMScheduler.step: eta > 0 needs varianceNoise, rng or seed');
    return tf.tensor(rng.normal(sample.shape), sample.shape, 'float32');
  }

  /** [B,1,…,1] tensor of per-item scalars, to broadcast against a sample of rank `rank`. */
  private perItem(values: number[], rank: number): tf.Tensor {
    return tf.tensor(values, [values.length, ...new Array(rank - 1).fill(1)], 'float32');
  }

  private checkTimesteps(timesteps: number[], batch: number, what: string): void {
    if (timesteps.length !== batch && timesteps.length !== 1) {
      throw new Error(`DDIMScheduler.${what}: ${timesteps.length} timesteps for a batch of ${batch}`);
    }
  }

  /** Forward process q(x_t | x_0) (DDPM eq. 4): √ᾱ_t·x0 + √(1 − ᾱ_t)·noise, one t per batch item (or one for all). */
  addNoise(originalSamples: tf.Tensor, noise: tf.Tensor, timesteps: number[]): tf.Tensor {
    this.checkTimesteps(timesteps, originalSamples.shape[0], 'addNoise');
    return tf.tidy(() => {
      const a = timesteps.map((t) => this.alphaProd(t));
      const sqrtA = this.perItem(a.map((v) => f32(Math.sqrt(v))), originalSamples.rank);
      const sqrtB = this.perItem(a.map((v) => f32(Math.sqrt(f32(1 - v)))), originalSamples.rank);
      return tf.add(tf.mul(originalSamples, sqrtA), tf.mul(noise, sqrtB));
    });
  }

  /** v-prediction target (Salimans & Ho 2022): √ᾱ_t·noise − √(1 − ᾱ_t)·x0. */
  getVelocity(sample: tf.Tensor, noise: tf.Tensor, timesteps: number[]): tf.Tensor {
    this.checkTimesteps(timesteps, sample.shape[0], 'getVelocity');
    return tf.tidy(() => {
      const a = timesteps.map((t) => this.alphaProd(t));
      const sqrtA = this.perItem(a.map((v) => f32(Math.sqrt(v))), sample.rank);
      const sqrtB = this.perItem(a.map((v) => f32(Math.sqrt(f32(1 - v)))), sample.rank);
      return tf.sub(tf.mul(noise, sqrtA), tf.mul(sample, sqrtB));
    });
  }
}
