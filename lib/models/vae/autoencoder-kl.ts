/**
 * AutoencoderKL (Rombach et al. 2022, the SD "first stage"), built from `vae/config.json` with diffusers'
 * parameter names. NHWC throughout: images [B,H,W,3] in [−1, 1], latents [B,H/f,W/f,latent_channels].
 *
 * encode → the diagonal Gaussian q(z|x) (mean, logvar clamped to [−30, 20] as diffusers does);
 * decode → the raw decoder output (not clamped, no scaling_factor: the pipeline divides by it first).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { readComponentConfig, weightFiles } from '../../io/diffusers-folder';
import { Conv2d, ParamStore } from '../../nn';
import { Rng } from '../../random';
import { resolveVAEConfig, VAEConfig } from './config';
import { VAEDecoder } from './decoder';
import { VAEEncoder } from './encoder';
import { renameLegacyVAEKey } from './legacy-names';

/** q(z|x) = N(mean, exp(logvar)). The caller owns mean and logvar (dispose them, or call `dispose()`). */
export class LatentDistribution {
  constructor(
    readonly mean: tf.Tensor4D,
    readonly logvar: tf.Tensor4D,
  ) {}

  /** mean + exp(logvar/2)·noise; `noise` has the latent shape (NHWC). Returns a new tensor. */
  sample(noise: tf.Tensor4D): tf.Tensor4D {
    if (noise.shape.join() !== this.mean.shape.join()) {
      throw new Error(`LatentDistribution.sample: noise shape [${noise.shape}] differs from latent shape [${this.mean.shape}]`);
    }
    return tf.tidy(() => tf.add(this.mean, tf.mul(tf.exp(tf.mul(this.logvar, 0.5)), noise)));
  }

  /** The mode (= mean), as a new tensor. */
  mode(): tf.Tensor4D {
    return this.mean.clone();
  }

  dispose(): void {
    this.mean.dispose();
    this.logvar.dispose();
  }
}

export interface VAELoadOptions {
  /** e.g. "fp16" for `diffusion_pytorch_model.fp16.safetensors` */
  variant?: string;
  warn?: (msg: string) => void;
}

export class AutoencoderKL {
  readonly config: VAEConfig;
  private readonly encoder: VAEEncoder;
  private readonly decoder: VAEDecoder;
  private readonly quantConv?: Conv2d;
  private readonly postQuantConv?: Conv2d;

  /** Builds the model over `store` (which it then owns). Throws if the store holds weights nobody uses. */
  constructor(
    private readonly store: ParamStore,
    rawConfig: Record<string, unknown>,
    warn?: (msg: string) => void,
  ) {
    this.config = resolveVAEConfig(rawConfig, warn);
    const c = this.config;
    try {
      this.encoder = new VAEEncoder(store, 'encoder', c);
      this.decoder = new VAEDecoder(store, 'decoder', c);
      const z2 = 2 * c.latent_channels;
      if (c.use_quant_conv) this.quantConv = new Conv2d(store, 'quant_conv', z2, z2, 1);
      if (c.use_post_quant_conv) {
        this.postQuantConv = new Conv2d(store, 'post_quant_conv', c.latent_channels, c.latent_channels, 1);
      }
      const unused = store.unusedKeys();
      if (unused.length > 0) {
        throw new Error(
          `AutoencoderKL: ${unused.length} weights do not belong to this config (first: ${unused.slice(0, 5).join(', ')})`,
        );
      }
    } catch (e) {
      store.dispose();
      throw e;
    }
  }

  /**
   * Load from a diffusers `vae/` folder (config.json + diffusion_pytorch_model[.variant].safetensors).
   * Legacy mid-block attention names are renamed on load.
   */
  static load(dir: string, opts: VAELoadOptions = {}): AutoencoderKL {
    if (!fs.existsSync(dir)) throw new Error(`AutoencoderKL.load: folder not found: ${dir}`);
    const raw = readComponentConfig(dir);
    if (raw._class_name !== undefined && raw._class_name !== 'AutoencoderKL') {
      throw new Error(`AutoencoderKL.load: ${path.join(dir, 'config.json')} is for ${String(raw._class_name)}, not AutoencoderKL`);
    }
    const store = ParamStore.fromSafetensors(weightFiles(dir, { variant: opts.variant }), { rename: renameLegacyVAEKey });
    return new AutoencoderKL(store, raw, opts.warn);
  }

  /** 2^(number of blocks − 1): 8 for SD v1. */
  get scaleFactor(): number {
    return 2 ** (this.config.block_out_channels.length - 1);
  }

  get scalingFactor(): number {
    return this.config.scaling_factor;
  }

  /** The parameters by reference name (for parity checks and trainers). */
  get params(): ParamStore {
    return this.store;
  }

  /** "moments": encoder output through quant_conv, [B, h, w, 2·latent] (mean channels, then logvar). */
  moments(image: tf.Tensor4D): tf.Tensor4D {
    const c = this.config;
    const [, h, w, ch] = image.shape;
    if (ch !== c.in_channels) {
      throw new Error(`AutoencoderKL.encode: image has ${ch} channels, expected ${c.in_channels} (NHWC)`);
    }
    if (h % this.scaleFactor !== 0 || w % this.scaleFactor !== 0) {
      throw new Error(`AutoencoderKL.encode: image ${h}×${w} is not a multiple of ${this.scaleFactor}`);
    }
    return tf.tidy(() => {
      const enc = this.encoder.apply(image);
      return this.quantConv ? this.quantConv.apply(enc) : enc;
    });
  }

  /** image [B,H,W,in_channels] in [−1, 1] → q(z|x). */
  encode(image: tf.Tensor4D): LatentDistribution {
    const zc = this.config.latent_channels;
    const [mean, logvar] = tf.tidy(() => {
      const m = this.moments(image);
      const [b, h, w] = m.shape;
      const mu = tf.slice(m, [0, 0, 0, 0], [b, h, w, zc]);
      const lv = tf.clipByValue(tf.slice(m, [0, 0, 0, zc], [b, h, w, zc]), -30, 20);
      return [mu, lv];
    });
    return new LatentDistribution(mean as tf.Tensor4D, logvar as tf.Tensor4D);
  }

  /**
   * Training-side encode, as diffusers' training scripts do it: z = q(z|x).sample() · scaling_factor, with the
   * reparameterisation noise drawn from `rng` (seeded, backend-independent); without `rng`, the mean (mode).
   * The caller owns the result.
   */
  encodeLatents(image: tf.Tensor4D, rng?: Rng): tf.Tensor4D {
    const dist = this.encode(image);
    try {
      return tf.tidy(() => {
        const z = rng ? dist.sample(tf.tensor4d(rng.normal(dist.mean.shape), dist.mean.shape)) : dist.mode();
        return tf.mul(z, this.scalingFactor);
      });
    } finally {
      dist.dispose();
    }
  }

  /** latent [B,h,w,latent_channels] (already divided by scaling_factor) → raw image [B, h·f, w·f, out]. */
  decode(latent: tf.Tensor4D): tf.Tensor4D {
    const zc = this.config.latent_channels;
    if (latent.rank !== 4 || latent.shape[3] !== zc) {
      throw new Error(`AutoencoderKL.decode: latent shape [${latent.shape}] must be [B, h, w, ${zc}] (NHWC)`);
    }
    return tf.tidy(() => {
      const z = this.postQuantConv ? this.postQuantConv.apply(latent) : latent;
      return this.decoder.apply(z);
    });
  }

  dispose(): void {
    this.store.dispose();
  }
}
