/**
 * CLIP configs as transformers v4.26 reads them (`CLIPTextConfig`, `CLIPVisionConfig`, `CLIPConfig`), with its
 * defaults for missing keys. Keys of the generic `PretrainedConfig` (generation settings, ids, dtype, …) are
 * accepted silently; other unknown keys are reported and ignored; values we do not implement throw.
 */
import { resolveConfig } from '../../io/diffusers-folder';
import { activationByName } from '../../nn/activations';

export interface CLIPTextConfig {
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  projection_dim: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  max_position_embeddings: number;
  hidden_act: string;
  layer_norm_eps: number;
  initializer_range: number;
  initializer_factor: number;
  pad_token_id: number;
  bos_token_id: number;
  eos_token_id: number;
}

export interface CLIPVisionConfig {
  hidden_size: number;
  intermediate_size: number;
  projection_dim: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_channels: number;
  image_size: number;
  patch_size: number;
  hidden_act: string;
  layer_norm_eps: number;
  initializer_range: number;
  initializer_factor: number;
}

export interface CLIPConfig {
  text_config: CLIPTextConfig;
  vision_config: CLIPVisionConfig;
  projection_dim: number;
  logit_scale_init_value: number;
}

export const CLIP_TEXT_DEFAULTS: CLIPTextConfig = {
  vocab_size: 49408,
  hidden_size: 512,
  intermediate_size: 2048,
  projection_dim: 512,
  num_hidden_layers: 12,
  num_attention_heads: 8,
  max_position_embeddings: 77,
  hidden_act: 'quick_gelu',
  layer_norm_eps: 1e-5,
  initializer_range: 0.02,
  initializer_factor: 1.0,
  pad_token_id: 1,
  bos_token_id: 0,
  eos_token_id: 2,
};

export const CLIP_VISION_DEFAULTS: CLIPVisionConfig = {
  hidden_size: 768,
  intermediate_size: 3072,
  projection_dim: 512,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  num_channels: 3,
  image_size: 224,
  patch_size: 32,
  hidden_act: 'quick_gelu',
  layer_norm_eps: 1e-5,
  initializer_range: 0.02,
  initializer_factor: 1.0,
};

const CLIP_DEFAULTS = { projection_dim: 512, logit_scale_init_value: 2.6592 };

/** PretrainedConfig / CLIP keys that carry no architecture: never warned about. */
const GENERIC_KEYS = new Set([
  'architectures', 'model_type', 'torch_dtype', 'transformers_version', 'dropout', 'attention_dropout',
  'return_dict', 'output_hidden_states', 'output_attentions', 'torchscript', 'use_bfloat16', 'tf_legacy_loss',
  'pruned_heads', 'tie_word_embeddings', 'is_encoder_decoder', 'is_decoder', 'cross_attention_hidden_size',
  'add_cross_attention', 'tie_encoder_decoder', 'max_length', 'min_length', 'do_sample', 'early_stopping',
  'num_beams', 'num_beam_groups', 'diversity_penalty', 'temperature', 'top_k', 'top_p', 'typical_p',
  'repetition_penalty', 'length_penalty', 'no_repeat_ngram_size', 'encoder_no_repeat_ngram_size',
  'bad_words_ids', 'num_return_sequences', 'chunk_size_feed_forward', 'output_scores',
  'return_dict_in_generate', 'forced_bos_token_id', 'forced_eos_token_id', 'remove_invalid_values',
  'exponential_decay_length_penalty', 'suppress_tokens', 'begin_suppress_tokens', 'finetuning_task',
  'id2label', 'label2id', 'tokenizer_class', 'prefix', 'sep_token_id', 'decoder_start_token_id',
  'task_specific_params', 'problem_type', 'name_or_path', 'gradient_checkpointing', 'text_config_dict',
  'vision_config_dict', 'initializer_range', 'initializer_factor', 'bos_token_id', 'eos_token_id', 'pad_token_id',
]);

function withoutGeneric(raw: Record<string, unknown>, defaults: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(raw).filter(([k]) => k in defaults || !GENERIC_KEYS.has(k)));
}

function positiveInt(cfg: object, keys: string[], what: string): void {
  for (const k of keys) {
    const v = (cfg as Record<string, unknown>)[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new Error(`${what}: ${k} must be a positive integer, got ${JSON.stringify(v)}`);
  }
}

function checkHeads(hidden: number, heads: number, what: string): void {
  if (hidden % heads !== 0) throw new Error(`${what}: hidden_size ${hidden} is not divisible by num_attention_heads ${heads}`);
}

export function textConfigFrom(raw: Record<string, unknown>, warn?: (m: string) => void): CLIPTextConfig {
  const what = 'CLIPTextConfig';
  const cfg = resolveConfig(withoutGeneric(raw, CLIP_TEXT_DEFAULTS), CLIP_TEXT_DEFAULTS, what, warn);
  positiveInt(cfg, ['vocab_size', 'hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'max_position_embeddings', 'projection_dim'], what);
  checkHeads(cfg.hidden_size, cfg.num_attention_heads, what);
  activationByName(cfg.hidden_act); // throws on an activation we do not implement
  return cfg;
}

export function visionConfigFrom(raw: Record<string, unknown>, warn?: (m: string) => void): CLIPVisionConfig {
  const what = 'CLIPVisionConfig';
  const cfg = resolveConfig(withoutGeneric(raw, CLIP_VISION_DEFAULTS), CLIP_VISION_DEFAULTS, what, warn);
  positiveInt(cfg, ['hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'num_channels', 'image_size', 'patch_size', 'projection_dim'], what);
  checkHeads(cfg.hidden_size, cfg.num_attention_heads, what);
  if (cfg.image_size % cfg.patch_size !== 0) {
    throw new Error(`${what}: image_size ${cfg.image_size} is not a multiple of patch_size ${cfg.patch_size}`);
  }
  activationByName(cfg.hidden_act);
  return cfg;
}

/**
 * A full `CLIPModel` config (`text_config` + `vision_config` + top-level `projection_dim`). As in transformers,
 * the top-level projection_dim sizes both projections.
 */
export function clipConfigFrom(raw: Record<string, unknown>, warn?: (m: string) => void): CLIPConfig {
  const rest = resolveConfig(
    withoutGeneric(Object.fromEntries(Object.entries(raw).filter(([k]) => k !== 'text_config' && k !== 'vision_config')), CLIP_DEFAULTS),
    CLIP_DEFAULTS,
    'CLIPConfig',
    warn,
  );
  const sub = (key: string): Record<string, unknown> => {
    const v = raw[key] ?? raw[`${key}_dict`];
    return v && typeof v === 'object' ? { ...(v as Record<string, unknown>), projection_dim: rest.projection_dim } : { projection_dim: rest.projection_dim };
  };
  return {
    text_config: textConfigFrom(sub('text_config'), warn),
    vision_config: visionConfigFrom(sub('vision_config'), warn),
    projection_dim: rest.projection_dim,
    logit_scale_init_value: rest.logit_scale_init_value,
  };
}
