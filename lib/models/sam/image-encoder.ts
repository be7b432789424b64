/**
 * segment-anything's `ImageEncoderViT` (image_encoder.py) in NHWC: patch embedding conv, absolute position
 * embedding, ViT blocks with windowed or global attention, and the neck (conv1×1 → LayerNorm2d → conv3×3 →
 * LayerNorm2d, convs without bias). Parameters under `image_encoder.*` by the official checkpoint names.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Conv2d, LayerNorm, ParamStore, gelu } from '../../nn';
import { EncoderBlockLayers, fusedEncoderBlock } from '../../nn/encoder-block';
import { LAYER_NORM_2D_EPS, SamConfig } from './config';
import { MLPBlock } from './mlp';
import { ViTAttention } from './vit-attention';
import { windowPartition, windowUnpartition } from './windows';

/** image_encoder.py `Block`: pre-norm attention (windowed when windowSize > 0) and pre-norm MLP. */
class EncoderBlock {
  private readonly norm1: LayerNorm;
  private readonly norm2: LayerNorm;
  private readonly attn: ViTAttention;
  private readonly mlp: MLPBlock;
  private readonly fusable: EncoderBlockLayers;
  private readonly heads: number;

  constructor(store: ParamStore, prefix: string, cfg: SamConfig, gridSize: number, private readonly windowSize: number) {
    const dim = cfg.encoder_embed_dim;
    this.norm1 = new LayerNorm(store, `${prefix}.norm1`, dim, cfg.encoder_layer_norm_eps);
    this.norm2 = new LayerNorm(store, `${prefix}.norm2`, dim, cfg.encoder_layer_norm_eps);
    const side = windowSize > 0 ? windowSize : gridSize;
    this.heads = cfg.encoder_num_heads;
    this.attn = new ViTAttention(store, `${prefix}.attn`, dim, {
      heads: cfg.encoder_num_heads,
      qkvBias: cfg.encoder_qkv_bias,
      useRelPos: cfg.encoder_use_rel_pos,
      inputSize: [side, side],
    });
    this.mlp = new MLPBlock(store, `${prefix}.mlp`, dim, Math.trunc(dim * cfg.encoder_mlp_ratio), gelu);
    this.fusable = { norm1: this.norm1, qkv: this.attn.qkv, proj: this.attn.proj, norm2: this.norm2, fc1: this.mlp.lin1, fc2: this.mlp.lin2 };
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    const [, h, w] = x.shape;
    // one native kernel at inference (no gradient tape), the ops below otherwise (lib/nn/encoder-block.ts)
    const fused = fusedEncoderBlock(x, this.fusable, {
      heads: this.heads, act: 'gelu', grid: [h, w], window: this.windowSize, relPos: this.attn.relPosTables(),
    });
    if (fused) return fused as tf.Tensor4D;
    return tf.tidy(() => {
      let y = this.norm1.apply(x);
      if (this.windowSize > 0) {
        // Zero padding happens after norm1, so padded tokens are exact zeros.
        const { windows, paddedHW } = windowPartition(y, this.windowSize);
        y = windowUnpartition(this.attn.apply(windows), this.windowSize, paddedHW, [h, w]);
      } else {
        y = this.attn.apply(y);
      }
      const z = tf.add(x, y);
      return tf.add(z, this.mlp.apply(this.norm2.apply(z)));
    });
  }
}

export class ImageEncoderViT {
  readonly gridSize: number;
  private readonly patchEmbed: Conv2d;
  private readonly posEmbed: string;
  private readonly blocks: EncoderBlock[] = [];
  private readonly neckConv1: Conv2d;
  private readonly neckNorm1: LayerNorm;
  private readonly neckConv2: Conv2d;
  private readonly neckNorm2: LayerNorm;

  constructor(private readonly store: ParamStore, prefix: string, readonly cfg: SamConfig) {
    const dim = cfg.encoder_embed_dim;
    const out = cfg.prompt_embed_dim;
    this.gridSize = cfg.image_size / cfg.vit_patch_size;
    this.patchEmbed = new Conv2d(store, `${prefix}.patch_embed.proj`, 3, dim, cfg.vit_patch_size, { stride: cfg.vit_patch_size });
    // Stored (1, H/16, W/16, C): already channels-last.
    this.posEmbed = `${prefix}.pos_embed`;
    store.take(this.posEmbed, [1, this.gridSize, this.gridSize, dim]);
    const global = new Set(cfg.encoder_global_attn_indexes);
    for (let i = 0; i < cfg.encoder_depth; i++) {
      this.blocks.push(new EncoderBlock(store, `${prefix}.blocks.${i}`, cfg, this.gridSize, global.has(i) ? 0 : cfg.window_size));
    }
    this.neckConv1 = new Conv2d(store, `${prefix}.neck.0`, dim, out, 1, { bias: false });
    this.neckNorm1 = new LayerNorm(store, `${prefix}.neck.1`, out, LAYER_NORM_2D_EPS);
    this.neckConv2 = new Conv2d(store, `${prefix}.neck.2`, out, out, 3, { padding: 1, bias: false });
    this.neckNorm2 = new LayerNorm(store, `${prefix}.neck.3`, out, LAYER_NORM_2D_EPS);
  }

  /**
   * @param x  preprocessed image [B, img, img, 3] (normalised, zero-padded)
   * @returns  image embeddings [B, img/patch, img/patch, prompt_embed_dim]
   */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const s = this.cfg.image_size;
      if (x.shape[1] !== s || x.shape[2] !== s || x.shape[3] !== 3) {
        throw new Error(`Error in ImageEncoderViT: input must be [B, ${s}, ${s}, 3] (NHWC), got [${x.shape}]`);
      }
      let h = tf.add(this.patchEmbed.apply(x), this.store.tensor(this.posEmbed)) as tf.Tensor4D;
      for (const block of this.blocks) h = block.apply(h);
      // LayerNorm2d normalises over channels: in NHWC that is a LayerNorm over the last axis.
      h = this.neckNorm1.apply(this.neckConv1.apply(h));
      return this.neckNorm2.apply(this.neckConv2.apply(h));
    });
  }
}
