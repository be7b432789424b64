/** The detex-mini VAE config (shared by the training script and benches). */
export const SIZE = 64;

/** factor 4 → 16×16×4 latents; factor 8 → 8×8×4 (faster UNet, coarser detail). */
export function vaeConfig(factor: 4 | 8): Record<string, unknown> {
  const blocks = factor === 4 ? [32, 64, 64] : [32, 64, 64, 64];
  return {
    _class_name: 'AutoencoderKL',
    _diffusers_version: '0.27.2',
    in_channels: 3,
    out_channels: 3,
    down_block_types: blocks.map(() => 'DownEncoderBlock2D'),
    up_block_types: blocks.map(() => 'UpDecoderBlock2D'),
    block_out_channels: blocks,
    layers_per_block: 1,
    latent_channels: 4,
    norm_num_groups: 16,
    act_fn: 'silu',
    sample_size: SIZE,
    scaling_factor: 1,
  };
}

