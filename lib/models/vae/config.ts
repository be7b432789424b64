/**
 * `vae/config.json` of a diffusers AutoencoderKL (keys as the file spells them), with diffusers v0.27.2's
 * `AutoencoderKL.__init__` defaults for missing keys and the later optional keys (mid_block_add_attention,
 * use_quant_conv, use_post_quant_conv, shift_factor) at the values that keep v0.27.2 behaviour.
 */
import { resolveConfig } from '../../io/diffusers-folder';

export interface VAEConfig {
  in_channels: number;
  out_channels: number;
  down_block_types: string[];
  up_block_types: string[];
  block_out_channels: number[];
  layers_per_block: number;
  act_fn: string;
  latent_channels: number;
  norm_num_groups: number;
  sample_size: number | number[];
  scaling_factor: number;
  shift_factor: number | null;
  latents_mean: number[] | null;
  latents_std: number[] | null;
  force_upcast: boolean;
  use_quant_conv: boolean;
  use_post_quant_conv: boolean;
  mid_block_add_attention: boolean;
}

export const VAE_DEFAULTS: Readonly<VAEConfig> = Object.freeze({
  in_channels: 3,
  out_channels: 3,
  down_block_types: ['DownEncoderBlock2D'],
  up_block_types: ['UpDecoderBlock2D'],
  block_out_channels: [64],
  layers_per_block: 1,
  act_fn: 'silu',
  latent_channels: 4,
  norm_num_groups: 32,
  sample_size: 32,
  scaling_factor: 0.18215,
  shift_factor: null,
  latents_mean: null,
  latents_std: null,
  force_upcast: true,
  use_quant_conv: true,
  use_post_quant_conv: true,
  mid_block_add_attention: true,
});

/** Every VAE norm (resnets, mid attention, conv_norm_out) uses this eps whatever the config says. */
export const VAE_NORM_EPS = 1e-6;

export function resolveVAEConfig(raw: Record<string, unknown> = {}, warn?: (msg: string) => void): VAEConfig {
  const c = resolveConfig<VAEConfig>(raw, { ...VAE_DEFAULTS }, 'AutoencoderKL', warn);
  const n = c.block_out_channels.length;
  if (n < 1) throw new Error('AutoencoderKL config: block_out_channels is empty');
  if (c.down_block_types.length !== n || c.up_block_types.length !== n) {
    throw new Error(
      `AutoencoderKL config: ${c.down_block_types.length} down_block_types and ${c.up_block_types.length} up_block_types ` +
        `for ${n} block_out_channels (they must be equal)`,
    );
  }
  for (const t of c.down_block_types) {
    if (t !== 'DownEncoderBlock2D') throw new Error(`AutoencoderKL config: down block type "${t}" is not implemented (only DownEncoderBlock2D)`);
  }
  for (const t of c.up_block_types) {
    if (t !== 'UpDecoderBlock2D') throw new Error(`AutoencoderKL config: up block type "${t}" is not implemented (only UpDecoderBlock2D)`);
  }
  for (const ch of c.block_out_channels) {
    if (ch % c.norm_num_groups !== 0) {
      throw new Error(`AutoencoderKL config: block_out_channels ${ch} is not divisible by norm_num_groups ${c.norm_num_groups}`);
    }
  }
  if (c.shift_factor !== null && c.shift_factor !== 0) {
    throw new Error(`AutoencoderKL config: shift_factor ${c.shift_factor} is not implemented (SD v1.x has none)`);
  }
  return c;
}
