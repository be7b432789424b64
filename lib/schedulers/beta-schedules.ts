/**
 * Noise schedules (β_t) and ᾱ_t, computed in float32 exactly the way PyTorch builds them on the CPU, because
 * the reference `alphas_cumprod` is a float32 tensor and every DDIM step reads it.
 *
 * - torch.linspace(float32): step = (end − start)/(n − 1) in float32; the first half counts up from start,
 *   the second half down from end (so both ends are exact).
 * - torch.cumprod(float32) on the CPU accumulates in double and rounds each output to float32.
 */

const f32 = Math.fround;

/** torch.linspace(start, end, n, dtype=float32) (scalar path of the CPU kernel). */
export function linspaceF32(start: number, end: number, n: number): Float32Array {
  const out = new Float32Array(n);
  if (n === 1) {
    out[0] = start;
    return out;
  }
  const s = f32(start);
  const e = f32(end);
  const step = f32(f32(e - s) / (n - 1));
  const halfway = Math.floor(n / 2);
  for (let i = 0; i < n; i++) {
    out[i] = i < halfway ? f32(s + f32(step * i)) : f32(e - f32(step * (n - i - 1)));
  }
  return out;
}

/** ᾱ_t = Π_{s≤t} α_s with α = 1 − β in float32, the product kept in double (torch CPU cumprod). */
export function cumprodF32(alphas: Float32Array): Float32Array {
  const out = new Float32Array(alphas.length);
  let acc = 1;
  for (let i = 0; i < alphas.length; i++) {
    acc *= alphas[i];
    out[i] = acc;
  }
  return out;
}

/**
 * "squaredcos_cap_v2" (improved DDPM cosine schedule): β_t = min(1 − ᾱ(t+1)/ᾱ(t), 0.999) with
 * ᾱ(t) = cos²(((t/T) + 0.008)/1.008 · π/2), computed in double and stored as float32.
 */
export function cosineBetas(numTrainTimesteps: number, maxBeta = 0.999): Float32Array {
  const alphaBar = (t: number): number => Math.cos(((t + 0.008) / 1.008) * Math.PI / 2) ** 2;
  const out = new Float32Array(numTrainTimesteps);
  for (let i = 0; i < numTrainTimesteps; i++) {
    const t1 = i / numTrainTimesteps;
    const t2 = (i + 1) / numTrainTimesteps;
    out[i] = Math.min(1 - alphaBar(t2) / alphaBar(t1), maxBeta);
  }
  return out;
}

/**
 * Rescale β so the last step has zero SNR (Lin et al. 2023, "Common Diffusion Noise Schedules and Sample
 * Steps are Flawed", Algorithm 1). Every operation in float32, as diffusers does it on a float32 tensor.
 */
export function rescaleZeroTerminalSnr(betas: Float32Array): Float32Array {
  const n = betas.length;
  const alphas = new Float32Array(n);
  for (let i = 0; i < n; i++) alphas[i] = f32(1 - betas[i]);
  const sqrtBar = cumprodF32(alphas).map((a) => f32(Math.sqrt(a)));
  const first = sqrtBar[0];
  const last = sqrtBar[n - 1];
  const factor = f32(first / f32(first - last));
  const bar = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const shifted = f32(sqrtBar[i] - last);
    const scaled = f32(shifted * factor);
    bar[i] = f32(scaled * scaled);
  }
  const out = new Float32Array(n);
  out[0] = f32(1 - bar[0]);
  for (let i = 1; i < n; i++) out[i] = f32(1 - f32(bar[i] / bar[i - 1]));
  return out;
}

export type BetaSchedule = 'linear' | 'scaled_linear' | 'squaredcos_cap_v2';

export interface BetaOptions {
  num_train_timesteps: number;
  beta_start: number;
  beta_end: number;
  beta_schedule: string;
  trained_betas: number[] | null;
  rescale_betas_zero_snr: boolean;
}

/** β_1..β_T as float32 (trained_betas wins over beta_schedule, as in diffusers). */
export function makeBetas(o: BetaOptions): Float32Array {
  let betas: Float32Array;
  if (o.trained_betas != null) {
    if (o.trained_betas.length !== o.num_train_timesteps) {
      throw new Error(
        `scheduler config: trained_betas has ${o.trained_betas.length} values but num_train_timesteps is ${o.num_train_timesteps}`,
      );
    }
    betas = Float32Array.from(o.trained_betas);
  } else if (o.beta_schedule === 'linear') {
    betas = linspaceF32(o.beta_start, o.beta_end, o.num_train_timesteps);
  } else if (o.beta_schedule === 'scaled_linear') {
    // linspace over √β, then squared (in float32).
    betas = linspaceF32(Math.sqrt(o.beta_start), Math.sqrt(o.beta_end), o.num_train_timesteps).map((b) => f32(b * b));
  } else if (o.beta_schedule === 'squaredcos_cap_v2') {
    betas = cosineBetas(o.num_train_timesteps);
  } else {
    throw new Error(
      `scheduler config: beta_schedule "${o.beta_schedule}" is not implemented (expected linear, scaled_linear or squaredcos_cap_v2)`,
    );
  }
  return o.rescale_betas_zero_snr ? rescaleZeroTerminalSnr(betas) : betas;
}

/** ᾱ from β: α = 1 − β (float32), then the float32 cumprod. */
export function alphasCumprod(betas: Float32Array): Float32Array {
  return cumprodF32(betas.map((b) => f32(1 - b)));
}
