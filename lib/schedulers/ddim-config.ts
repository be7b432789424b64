/**
 * DDIMScheduler configuration: the keys of `scheduler/scheduler_config.json` as diffusers names them, with
 * diffusers' (v0.27.2) `DDIMScheduler.__init__` defaults for keys a file omits (older SD folders omit many).
 */
import { resolveConfig } from '../io/diffusers-folder';

export interface DDIMConfig {
  num_train_timesteps: number;
  beta_start: number;
  beta_end: number;
  beta_schedule: string;
  trained_betas: number[] | null;
  clip_sample: boolean;
  set_alpha_to_one: boolean;
  steps_offset: number;
  prediction_type: string;
  thresholding: boolean;
  dynamic_thresholding_ratio: number;
  clip_sample_range: number;
  sample_max_value: number;
  timestep_spacing: string;
  rescale_betas_zero_snr: boolean;
}

export const DDIM_DEFAULTS: Readonly<DDIMConfig> = Object.freeze({
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: 'linear',
  trained_betas: null,
  clip_sample: true,
  set_alpha_to_one: true,
  steps_offset: 0,
  prediction_type: 'epsilon',
  thresholding: false,
  dynamic_thresholding_ratio: 0.995,
  clip_sample_range: 1.0,
  sample_max_value: 1.0,
  timestep_spacing: 'leading',
  rescale_betas_zero_snr: false,
});

export type PredictionType = 'epsilon' | 'v_prediction' | 'sample';
const PREDICTION_TYPES: readonly string[] = ['epsilon', 'v_prediction', 'sample'];
const SPACINGS: readonly string[] = ['leading', 'trailing', 'linspace'];

/** Defaults filled, unknown keys warned about, unsupported values rejected with the allowed ones. */
export function resolveDDIMConfig(
  raw: Record<string, unknown> = {},
  warn?: (msg: string) => void,
): DDIMConfig {
  const c = resolveConfig<DDIMConfig>(raw, { ...DDIM_DEFAULTS }, 'DDIMScheduler', warn);
  if (!Number.isInteger(c.num_train_timesteps) || c.num_train_timesteps < 1) {
    throw new Error(`DDIMScheduler: num_train_timesteps must be a positive integer, got ${c.num_train_timesteps}`);
  }
  if (!PREDICTION_TYPES.includes(c.prediction_type)) {
    throw new Error(
      `DDIMScheduler: prediction_type "${c.prediction_type}" must be one of ${PREDICTION_TYPES.join(', ')}`,
    );
  }
  if (!SPACINGS.includes(c.timestep_spacing)) {
    throw new Error(
      `DDIMScheduler: timestep_spacing "${c.timestep_spacing}" is not supported (expected ${SPACINGS.join(', ')})`,
    );
  }
  if (c.thresholding && !(c.dynamic_thresholding_ratio > 0 && c.dynamic_thresholding_ratio <= 1)) {
    throw new Error(`DDIMScheduler: dynamic_thresholding_ratio must be in (0, 1], got ${c.dynamic_thresholding_ratio}`);
  }
  return c;
}
