/**
 * SAM configuration: the arguments of segment-anything's `build_sam._build_sam`, generalised so that every
 * size the model is built from is a config key (the keys of the fixtures' `config.json`). Missing keys take
 * the values `_build_sam` hard-codes, with the vit_b encoder; unknown keys are reported and ignored; values
 * this port does not implement throw.
 */

export interface SamConfig {
  image_size: number;
  vit_patch_size: number;
  encoder_embed_dim: number;
  encoder_depth: number;
  encoder_num_heads: number;
  encoder_global_attn_indexes: number[];
  window_size: number;
  encoder_mlp_ratio: number;
  encoder_qkv_bias: boolean;
  encoder_use_rel_pos: boolean;
  encoder_layer_norm_eps: number;
  prompt_embed_dim: number;
  mask_in_chans: number;
  num_multimask_outputs: number;
  transformer_depth: number;
  transformer_mlp_dim: number;
  transformer_num_heads: number;
  iou_head_depth: number;
  iou_head_hidden_dim: number;
  pixel_mean: [number, number, number];
  pixel_std: [number, number, number];
  mask_threshold: number;
  image_format: 'RGB' | 'BGR';
}

/** `_build_sam`'s fixed values plus the vit_b encoder (build_sam.py). */
const DEFAULTS: SamConfig = {
  image_size: 1024,
  vit_patch_size: 16,
  encoder_embed_dim: 768,
  encoder_depth: 12,
  encoder_num_heads: 12,
  encoder_global_attn_indexes: [2, 5, 8, 11],
  window_size: 14,
  encoder_mlp_ratio: 4.0,
  encoder_qkv_bias: true,
  encoder_use_rel_pos: true,
  encoder_layer_norm_eps: 1e-6,
  prompt_embed_dim: 256,
  mask_in_chans: 16,
  num_multimask_outputs: 3,
  transformer_depth: 2,
  transformer_mlp_dim: 2048,
  transformer_num_heads: 8,
  iou_head_depth: 3,
  iou_head_hidden_dim: 256,
  pixel_mean: [123.675, 116.28, 103.53],
  pixel_std: [58.395, 57.12, 57.375],
  mask_threshold: 0.0,
  image_format: 'RGB',
};
export const SAM_DEFAULTS: Readonly<SamConfig> = Object.freeze(DEFAULTS);

/** The official encoders (build_sam.py `build_sam_vit_b/l/h`); everything else is SAM_DEFAULTS. */
export const SAM_PRESETS = {
  vit_b: { encoder_embed_dim: 768, encoder_depth: 12, encoder_num_heads: 12, encoder_global_attn_indexes: [2, 5, 8, 11] },
  vit_l: { encoder_embed_dim: 1024, encoder_depth: 24, encoder_num_heads: 16, encoder_global_attn_indexes: [5, 11, 17, 23] },
  vit_h: { encoder_embed_dim: 1280, encoder_depth: 32, encoder_num_heads: 16, encoder_global_attn_indexes: [7, 15, 23, 31] },
} as const;

export type SamPresetName = keyof typeof SAM_PRESETS;

/** Cross-attention in the two-way transformer works at embedding_dim / 2 (TwoWayTransformer default). */
export const ATTENTION_DOWNSAMPLE_RATE = 2;

/** LayerNorm2d's fixed eps (common.py), used by the neck, mask downscaling and output upscaling. */
export const LAYER_NORM_2D_EPS = 1e-6;

export function samPreset(name: string): SamConfig {
  if (!(name in SAM_PRESETS)) {
    throw new Error(`unknown SAM preset "${name}" (known: ${Object.keys(SAM_PRESETS).join(', ')})`);
  }
  return samConfigFrom(SAM_PRESETS[name as SamPresetName]);
}

function fail(key: string, msg: string): never {
  throw new Error(`SAM config: ${key} ${msg}`);
}

function positiveInt(cfg: SamConfig, key: keyof SamConfig): void {
  const v = cfg[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) fail(key, `must be a positive integer, got ${JSON.stringify(v)}`);
}

/**
 * Fills defaults, checks consistency. Keys starting with "_" (comments) are ignored silently; other
 * unknown keys go to `warn`.
 */
export function samConfigFrom(raw: Record<string, unknown>, warn: (msg: string) => void = console.warn): SamConfig {
  const cfg = { ...SAM_DEFAULTS, encoder_global_attn_indexes: [...SAM_DEFAULTS.encoder_global_attn_indexes] } as SamConfig;
  const known = new Set(Object.keys(SAM_DEFAULTS));
  for (const [k, v] of Object.entries(raw)) {
    if (k.startsWith('_')) continue;
    if (!known.has(k)) {
      warn(`SAM config: unknown key "${k}" is ignored`);
      continue;
    }
    (cfg as unknown as Record<string, unknown>)[k] = v;
  }
  for (const k of [
    'image_size', 'vit_patch_size', 'encoder_embed_dim', 'encoder_depth', 'encoder_num_heads', 'prompt_embed_dim',
    'mask_in_chans', 'num_multimask_outputs', 'transformer_depth', 'transformer_mlp_dim', 'transformer_num_heads',
    'iou_head_depth', 'iou_head_hidden_dim',
  ] as const) positiveInt(cfg, k);
  if (!Number.isInteger(cfg.window_size) || cfg.window_size < 0) fail('window_size', `must be an integer ≥ 0, got ${cfg.window_size}`);
  if (cfg.image_size % cfg.vit_patch_size !== 0) {
    fail('image_size', `${cfg.image_size} is not a multiple of vit_patch_size ${cfg.vit_patch_size}`);
  }
  if (cfg.encoder_embed_dim % cfg.encoder_num_heads !== 0) {
    fail('encoder_embed_dim', `${cfg.encoder_embed_dim} does not split into ${cfg.encoder_num_heads} heads`);
  }
  if (!Array.isArray(cfg.encoder_global_attn_indexes) || cfg.encoder_global_attn_indexes.some((i) => !Number.isInteger(i))) {
    fail('encoder_global_attn_indexes', `must be a list of block indexes, got ${JSON.stringify(cfg.encoder_global_attn_indexes)}`);
  }
  if (!(cfg.encoder_mlp_ratio > 0)) fail('encoder_mlp_ratio', `must be > 0, got ${cfg.encoder_mlp_ratio}`);
  if (!(cfg.encoder_layer_norm_eps > 0)) fail('encoder_layer_norm_eps', `must be > 0, got ${cfg.encoder_layer_norm_eps}`);
  // output_upscaling goes C → C/4 → C/8 channels (and the random Fourier features need C even).
  if (cfg.prompt_embed_dim % 8 !== 0) fail('prompt_embed_dim', `must be a multiple of 8, got ${cfg.prompt_embed_dim}`);
  if (cfg.mask_in_chans % 4 !== 0) fail('mask_in_chans', `must be a multiple of 4, got ${cfg.mask_in_chans}`);
  if (cfg.prompt_embed_dim % cfg.transformer_num_heads !== 0 || (cfg.prompt_embed_dim / ATTENTION_DOWNSAMPLE_RATE) % cfg.transformer_num_heads !== 0) {
    fail('transformer_num_heads', `${cfg.transformer_num_heads} heads do not split prompt_embed_dim ${cfg.prompt_embed_dim} and its half`);
  }
  for (const k of ['pixel_mean', 'pixel_std'] as const) {
    const v = cfg[k];
    if (!Array.isArray(v) || v.length !== 3 || v.some((x) => typeof x !== 'number')) fail(k, `must be 3 numbers, got ${JSON.stringify(v)}`);
  }
  if (cfg.pixel_std.some((s) => s === 0)) fail('pixel_std', 'must not contain 0');
  if (cfg.image_format !== 'RGB' && cfg.image_format !== 'BGR') fail('image_format', `must be "RGB" or "BGR", got ${JSON.stringify(cfg.image_format)}`);
  if (typeof cfg.encoder_qkv_bias !== 'boolean') fail('encoder_qkv_bias', 'must be a boolean');
  if (typeof cfg.encoder_use_rel_pos !== 'boolean') fail('encoder_use_rel_pos', 'must be a boolean');
  if (typeof cfg.mask_threshold !== 'number') fail('mask_threshold', 'must be a number');
  return cfg;
}
