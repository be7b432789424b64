/**
 * detex-mini's SAM: the segment-anything architecture at world scale. 64 px input with 4 px patches gives a
 * 16×16 embedding grid, so the decoder's ×4 upscaling yields 64×64 low-res masks: full resolution for 64 px
 * renders (no boundary lost to upsampling). Relative position bias is off (absolute pos_embed only): it
 * saves time at this grid size and its table lookup has no gradient on WASM. ~1 MB of F16 weights.
 */
export const MINI_SAM_CONFIG = {
  _detex_note: 'detex-mini SAM: segment_anything build_sam arguments; trained by scripts/pretrain/sam.ts',
  image_size: 64,
  vit_patch_size: 4,
  encoder_embed_dim: 96,
  encoder_depth: 4,
  encoder_num_heads: 4,
  encoder_global_attn_indexes: [1, 3],
  window_size: 4,
  encoder_mlp_ratio: 4.0,
  encoder_qkv_bias: true,
  encoder_use_rel_pos: false,
  encoder_layer_norm_eps: 1e-6,
  prompt_embed_dim: 64,
  mask_in_chans: 16,
  num_multimask_outputs: 3,
  transformer_depth: 2,
  transformer_mlp_dim: 256,
  transformer_num_heads: 4,
  iou_head_depth: 3,
  iou_head_hidden_dim: 64,
  pixel_mean: [123.675, 116.28, 103.53],
  pixel_std: [58.395, 57.12, 57.375],
  mask_threshold: 0.0,
};

export const SAM_IMAGE_SIZE = 64;
