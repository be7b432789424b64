/**
 * detex-mini UNet and scheduler configs. Latents are 16×16×4 (64 px images, VAE factor 4), so three
 * resolutions (16, 8, 4); cross-attention at 16 and 8 (where DETEX's attention maps are read) and in the
 * mid block. cross_attention_dim = the detex-mini text encoder width (lib/pretrain/clip-config MINI_WIDTH).
 * `attention_head_dim` is diffusers' (misnamed) head count for SD-style configs.
 */
import { MINI_WIDTH } from '../../lib/pretrain/clip-config';

/** Seeds every UNet run's data, noise and init (also the encode-ahead producer's, which must match). */
export const UNET_SEED = 20240228;
/** image side of the world renders the UNet trains on */
export const UNET_IMAGE_SIZE = 64;

export function unetConfig(channels: number[] = [32, 64, 64], layers: number | number[] = 1): Record<string, unknown> {
  return {
    _class_name: 'UNet2DConditionModel',
    _diffusers_version: '0.27.2',
    sample_size: 16,
    in_channels: 4,
    out_channels: 4,
    center_input_sample: false,
    down_block_types: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
    up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
    block_out_channels: channels,
    layers_per_block: layers,
    attention_head_dim: 4,
    cross_attention_dim: MINI_WIDTH,
    norm_num_groups: 16,
    norm_eps: 1e-5,
    flip_sin_to_cos: true,
    freq_shift: 0,
    downsample_padding: 1,
    act_fn: 'silu',
    use_linear_projection: false,
  };
}

/** SD v1's DDIM training schedule. */
export const SCHEDULER_CONFIG = {
  _class_name: 'DDIMScheduler',
  _diffusers_version: '0.27.2',
  num_train_timesteps: 1000,
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  clip_sample: false,
  set_alpha_to_one: false,
  steps_offset: 1,
  prediction_type: 'epsilon',
};
