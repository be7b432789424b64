/**
 * DINO v1 VisionTransformer (facebookresearch/dino `vision_transformer.py`), inference only, NHWC in.
 *
 *   tokens = [cls_token; patch_embed(x)] + interpolate_pos_encoding(...)   [B, 1 + gh·gw, C]
 *   tokens = blocks(tokens); out = norm(tokens)
 *   forward(x) = out[:, 0]   (the CLS feature DINO-I compares by cosine)
 *
 * Parameters by the official checkpoint names: `cls_token`, `pos_embed`, `patch_embed.proj.{weight,bias}`,
 * `blocks.N.*`, `norm.*` (and `head.*` when num_classes > 0, loaded but never applied, as in the reference).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { Conv2d, LayerNorm, Linear, ParamStore } from '../../nn';
import { DinoBlock } from './block';
import { DinoViTConfig, mlpHiddenDim, resolveDinoConfig, trainingGridSide } from './config';
import { interpolatePosEncoding } from './pos-embed';

export interface DinoLoadOptions {
  warn?: (msg: string) => void;
}

export class DinoVisionTransformer {
  private readonly patchEmbed: Conv2d;
  private readonly blocks: DinoBlock[];
  private readonly norm: LayerNorm;
  private readonly head?: Linear;

  /** Builds the model from `config`, taking (and shape-checking) every parameter from `store`. Owns `store`. */
  constructor(readonly config: DinoViTConfig, private readonly store: ParamStore, opts: DinoLoadOptions = {}) {
    const c = config.embed_dim;
    const side = trainingGridSide(config);
    store.take('cls_token', [1, 1, c]);
    store.take('pos_embed', [1, side * side + 1, c]);
    this.patchEmbed = new Conv2d(store, 'patch_embed.proj', config.in_chans, c, config.patch_size, { stride: config.patch_size, padding: 0 });
    const headDim = c / config.num_heads;
    const blockOpts = {
      dim: c,
      numHeads: config.num_heads,
      mlpHidden: mlpHiddenDim(config),
      qkvBias: config.qkv_bias,
      // Python's `qk_scale or head_dim ** -0.5`: 0 and None both fall back.
      scale: config.qk_scale || Math.pow(headDim, -0.5),
      eps: config.layer_norm_eps,
    };
    this.blocks = [];
    for (let i = 0; i < config.depth; i++) this.blocks.push(new DinoBlock(store, `blocks.${i}`, blockOpts));
    this.norm = new LayerNorm(store, 'norm', c, config.layer_norm_eps);
    if (config.num_classes > 0 && store.has('head.weight')) this.head = new Linear(store, 'head', c, config.num_classes);
    const unused = store.unusedKeys();
    if (unused.length > 0) {
      (opts.warn ?? console.warn)(`DINO: ${unused.length} checkpoint tensors are not used by this config: ${unused.slice(0, 8).join(', ')}${unused.length > 8 ? ', …' : ''}`);
    }
  }

  /** Loads `config.json` + `model.safetensors` from a folder (the fixture / converted-checkpoint layout). */
  static fromFolder(dir: string, opts: DinoLoadOptions = {}): DinoVisionTransformer {
    return DinoVisionTransformer.fromFiles(path.join(dir, 'config.json'), path.join(dir, 'model.safetensors'), opts);
  }

  static fromFiles(configPath: string, weightsPath: string, opts: DinoLoadOptions = {}): DinoVisionTransformer {
    let raw: unknown;
    try {
      raw = JSON.parse(fs.readFileSync(configPath, 'utf8'));
    } catch (e) {
      throw new Error(`DINO: cannot read config ${configPath}: ${(e as Error).message}`);
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`DINO: config ${configPath} is not a JSON object`);
    const cfg = resolveDinoConfig(raw as Record<string, unknown>, { source: configPath, warn: opts.warn });
    const store = ParamStore.fromSafetensors(weightsPath);
    try {
      return new DinoVisionTransformer(cfg, store, opts);
    } catch (e) {
      store.dispose();
      throw new Error(`DINO: ${weightsPath} does not fit ${configPath}: ${(e as Error).message}`);
    }
  }

  /** The position embedding actually added for an image of imageH×imageW pixels: [1, 1 + gh·gw, C]. */
  posEmbedFor(imageH: number, imageW: number): tf.Tensor3D {
    return interpolatePosEncoding(this.store.tensor('pos_embed') as tf.Tensor3D, imageH, imageW, this.config.patch_size);
  }

  /** x: [B, H, W, in_chans] normalised image (NHWC) → tokens [B, 1 + gh·gw, C] before the blocks. */
  prepareTokens(x: tf.Tensor4D): tf.Tensor3D {
    return tf.tidy(() => {
      const [b, h, w, ch] = x.shape;
      if (x.rank !== 4 || ch !== this.config.in_chans) {
        throw new Error(`Error in DINO prepareTokens: input must be NHWC with ${this.config.in_chans} channels, got [${x.shape}]`);
      }
      const p = this.config.patch_size;
      if (h < p || w < p) throw new Error(`Error in DINO prepareTokens: image ${h}x${w} is smaller than one ${p}px patch`);
      const c = this.config.embed_dim;
      const patches = this.patchEmbed.apply(x); // [B, gh, gw, C]; a stride-p conv drops the H % p, W % p remainder
      const [, gh, gw] = patches.shape;
      const seq = tf.reshape(patches, [b, gh * gw, c]); // row-major grid = torch flatten(2)
      const cls = tf.broadcastTo(this.store.tensor('cls_token'), [b, 1, c]);
      const tokens = tf.concat([cls, seq], 1);
      return tf.add(tokens, this.posEmbedFor(h, w)) as tf.Tensor3D;
    });
  }

  /** CLS feature [B, C] after the final norm (the reference forward; no head). */
  forward(x: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      let t = this.prepareTokens(x);
      for (const blk of this.blocks) t = blk.apply(t);
      const normed = this.norm.apply(t);
      const [b, , c] = normed.shape;
      return tf.reshape(tf.slice(normed, [0, 0, 0], [b, 1, c]), [b, c]) as tf.Tensor2D;
    });
  }

  /** All tokens, normed, after each of the last `n` blocks (oldest first): n × [B, 1 + gh·gw, C]. */
  getIntermediateLayers(x: tf.Tensor4D, n = 1): tf.Tensor3D[] {
    if (!Number.isInteger(n) || n < 1) throw new Error(`Error in DINO getIntermediateLayers: n must be an integer >= 1, got ${n}`);
    return tf.tidy(() => {
      let t = this.prepareTokens(x);
      const out: tf.Tensor3D[] = [];
      this.blocks.forEach((blk, i) => {
        t = blk.apply(t);
        if (this.blocks.length - i <= n) out.push(this.norm.apply(t));
      });
      return out;
    });
  }

  /** Attention probabilities of the last block: [B, heads, N, N] (reference get_last_selfattention). */
  getLastSelfAttention(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let t = this.prepareTokens(x);
      for (let i = 0; i < this.blocks.length - 1; i++) t = this.blocks[i].apply(t);
      return this.blocks[this.blocks.length - 1].attentionProbs(t);
    });
  }

  /** The classifier head's output for CLS features, if the checkpoint has one (never used by forward). */
  applyHead(cls: tf.Tensor2D): tf.Tensor2D {
    if (!this.head) throw new Error('DINO: this model has no head (num_classes 0 or no head.* weights)');
    return this.head.apply(cls);
  }

  dispose(): void {
    this.store.dispose();
  }
}

/** Cosine similarity of every pair of rows: [A, C] × [B, C] → [A, B] (the DINO-I metric on CLS features). */
export function cosineSimilarityMatrix(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    // torch F.normalize clamps the norm at eps 1e-12.
    const na = tf.div(a, tf.maximum(tf.norm(a, 2, 1, true), 1e-12));
    const nb = tf.div(b, tf.maximum(tf.norm(b, 2, 1, true), 1e-12));
    return tf.matMul(na, nb, false, true) as tf.Tensor2D;
  });
}
