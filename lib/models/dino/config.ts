/**
 * DINO v1 VisionTransformer configuration: the keyword arguments of facebookresearch/dino
 * `vision_transformer.VisionTransformer(...)` as they appear in a config.json, plus `layer_norm_eps`
 * (the reference passes `norm_layer=partial(nn.LayerNorm, eps=1e-6)` in its presets; a JSON config
 * cannot hold a class, so the eps is a key of its own).
 */

export interface DinoViTConfig {
  /** training resolution; only img_size[0] is used (square), it fixes the pos_embed grid */
  img_size: number[];
  patch_size: number;
  in_chans: number;
  /** > 0 adds a `head` Linear to the checkpoint; DINO's forward never applies it */
  num_classes: number;
  embed_dim: number;
  depth: number;
  num_heads: number;
  mlp_ratio: number;
  qkv_bias: boolean;
  /** attention logit scale; null → head_dim^-0.5 */
  qk_scale: number | null;
  layer_norm_eps: number;
}

/**
 * Defaults of `VisionTransformer.__init__` (not of a preset): qkv_bias false and nn.LayerNorm's own eps
 * 1e-5. The vit_* presets below override them as the reference functions do.
 */
export const VIT_DEFAULTS: Readonly<DinoViTConfig> = {
  img_size: [224],
  patch_size: 16,
  in_chans: 3,
  num_classes: 0,
  embed_dim: 768,
  depth: 12,
  num_heads: 12,
  mlp_ratio: 4,
  qkv_bias: false,
  qk_scale: null,
  layer_norm_eps: 1e-5,
};

// Training-only arguments: accepted and ignored at inference (dropout and stochastic depth are identities).
const TRAINING_ONLY = new Set(['drop_rate', 'attn_drop_rate', 'drop_path_rate']);
// Keys writers add for people, not for the model.
const COMMENT_KEYS = new Set(['_comment', '_name_or_path', 'model_type', 'architecture', 'arch']);

function preset(embed_dim: number, num_heads: number, patch_size: number): DinoViTConfig {
  return { ...VIT_DEFAULTS, embed_dim, depth: 12, num_heads, mlp_ratio: 4, qkv_bias: true, layer_norm_eps: 1e-6, patch_size };
}

/** The official DINO backbones (`vit_small` / `vit_base` with patch 16 or 8; img_size 224). */
export const DINO_PRESETS: Readonly<Record<string, DinoViTConfig>> = {
  dino_vits16: preset(384, 6, 16),
  dino_vits8: preset(384, 6, 8),
  dino_vitb16: preset(768, 12, 16),
  dino_vitb8: preset(768, 12, 8),
};

function bad(key: string, value: unknown, want: string, source: string): never {
  throw new Error(`DINO config ${source}: "${key}" = ${JSON.stringify(value)} is not ${want}`);
}

function posInt(raw: Record<string, unknown>, key: keyof DinoViTConfig, source: string): number {
  const v = raw[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) bad(key, v, 'a positive integer', source);
  return v;
}

/**
 * Fills VisionTransformer's defaults for missing keys, warns about unknown keys, and throws on values
 * that are invalid or that this implementation does not support. `source` names the file in messages.
 */
export function resolveDinoConfig(
  raw: Record<string, unknown>,
  opts: { source?: string; warn?: (msg: string) => void } = {},
): DinoViTConfig {
  const source = opts.source ?? '(in memory)';
  const warn = opts.warn ?? ((m: string) => console.warn(m));
  const known = new Set(Object.keys(VIT_DEFAULTS));
  for (const k of Object.keys(raw)) {
    if (known.has(k) || TRAINING_ONLY.has(k) || COMMENT_KEYS.has(k)) continue;
    if (k === 'norm_layer') {
      throw new Error(`DINO config ${source}: "norm_layer" cannot be read from JSON; give "layer_norm_eps" instead`);
    }
    warn(`DINO config ${source}: unknown key "${k}" is ignored`);
  }
  const merged: Record<string, unknown> = { ...VIT_DEFAULTS, ...raw };

  let img = merged.img_size;
  if (typeof img === 'number') img = [img];
  if (!Array.isArray(img) || img.length < 1 || img.some((v) => typeof v !== 'number' || !Number.isInteger(v) || v < 1)) {
    bad('img_size', merged.img_size, 'a positive integer or a list of them', source);
  }
  const cfg: DinoViTConfig = {
    img_size: [...(img as number[])],
    patch_size: posInt(merged, 'patch_size', source),
    in_chans: posInt(merged, 'in_chans', source),
    num_classes: merged.num_classes as number,
    embed_dim: posInt(merged, 'embed_dim', source),
    depth: posInt(merged, 'depth', source),
    num_heads: posInt(merged, 'num_heads', source),
    mlp_ratio: merged.mlp_ratio as number,
    qkv_bias: merged.qkv_bias as boolean,
    qk_scale: (merged.qk_scale ?? null) as number | null,
    layer_norm_eps: merged.layer_norm_eps as number,
  };
  if (typeof cfg.num_classes !== 'number' || !Number.isInteger(cfg.num_classes) || cfg.num_classes < 0) {
    bad('num_classes', cfg.num_classes, 'an integer >= 0', source);
  }
  if (typeof cfg.mlp_ratio !== 'number' || !(cfg.mlp_ratio > 0)) bad('mlp_ratio', cfg.mlp_ratio, 'a positive number', source);
  if (typeof cfg.qkv_bias !== 'boolean') bad('qkv_bias', cfg.qkv_bias, 'true or false', source);
  if (cfg.qk_scale !== null && (typeof cfg.qk_scale !== 'number' || !Number.isFinite(cfg.qk_scale))) {
    bad('qk_scale', cfg.qk_scale, 'null or a number', source);
  }
  if (typeof cfg.layer_norm_eps !== 'number' || !(cfg.layer_norm_eps > 0)) bad('layer_norm_eps', cfg.layer_norm_eps, 'a positive number', source);
  if (cfg.embed_dim % cfg.num_heads !== 0) {
    throw new Error(`DINO config ${source}: embed_dim ${cfg.embed_dim} does not split into num_heads ${cfg.num_heads}`);
  }
  if (cfg.img_size[0] < cfg.patch_size) {
    throw new Error(`DINO config ${source}: img_size ${cfg.img_size[0]} is smaller than patch_size ${cfg.patch_size}`);
  }
  for (const k of TRAINING_ONLY) {
    const v = raw[k];
    if (v !== undefined && v !== 0) warn(`DINO config ${source}: "${k}" = ${JSON.stringify(v)} only matters in training; ignored`);
  }
  return cfg;
}

/** Number of patches along one side of the training grid: img_size // patch_size (as PatchEmbed). */
export function trainingGridSide(cfg: DinoViTConfig): number {
  return Math.floor(cfg.img_size[0] / cfg.patch_size);
}

/** MLP hidden width: int(embed_dim * mlp_ratio), as the reference Block. */
export function mlpHiddenDim(cfg: DinoViTConfig): number {
  return Math.trunc(cfg.embed_dim * cfg.mlp_ratio);
}
