/**
 * detex-mini's CLIP-style encoders: sizes fixed here once, written to the model folder's config.json files.
 * Why these sizes: hidden 128 is the UNet's cross_attention_dim (it conditions on last_hidden_state) and the
 * width the DETEX mappers target; the 49408-row token table (F16: 12.6 MB) dominates the size, the
 * transformers are ~0.8M parameters each, so the two encoders stay under ~16 MB together.
 */

export const MINI_WIDTH = 128;

/** transformers CLIPTextModelWithProjection config (the projection is there for the contrastive loss). */
export const MINI_TEXT_CONFIG = {
  architectures: ['CLIPTextModelWithProjection'],
  model_type: 'clip_text_model',
  vocab_size: 49408,
  hidden_size: MINI_WIDTH,
  intermediate_size: 4 * MINI_WIDTH,
  projection_dim: MINI_WIDTH,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  max_position_embeddings: 77,
  hidden_act: 'quick_gelu',
  layer_norm_eps: 1e-5,
  bos_token_id: 49406,
  eos_token_id: 49407,
  pad_token_id: 49407,
};

/** transformers CLIPVisionModelWithProjection config: 64 px world renders, 8 px patches (8×8 grid + class token). */
export const MINI_VISION_CONFIG = {
  architectures: ['CLIPVisionModelWithProjection'],
  model_type: 'clip_vision_model',
  hidden_size: MINI_WIDTH,
  intermediate_size: 4 * MINI_WIDTH,
  projection_dim: MINI_WIDTH,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  image_size: 64,
  patch_size: 8,
  num_channels: 3,
  hidden_act: 'quick_gelu',
  layer_norm_eps: 1e-5,
};

/** CLIPImageProcessor settings: openai CLIP's mean/std (the training input uses exactly these), at 64 px. */
export const MINI_PREPROCESSOR = {
  crop_size: { height: 64, width: 64 },
  do_center_crop: true,
  do_convert_rgb: true,
  do_normalize: true,
  do_rescale: true,
  do_resize: true,
  image_mean: [0.48145466, 0.4578275, 0.40821073],
  image_std: [0.26862954, 0.26130258, 0.27577711],
  image_processor_type: 'CLIPImageProcessor',
  resample: 3,
  rescale_factor: 1 / 255,
  size: { shortest_edge: 64 },
};

export const TOKENIZER_FILES = ['vocab.json', 'merges.txt', 'special_tokens_map.json', 'tokenizer_config.json', 'LICENSE'];
