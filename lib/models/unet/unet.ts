/**
 * diffusers' `UNet2DConditionModel` (v0.27.2 semantics, SD v1.x / v2.x layouts), NHWC inside.
 *
 *   emb = time_embedding(time_proj(t))
 *   h = conv_in(sample); skips = [h]
 *   down blocks (push their skips) → mid block → up blocks (pop skips, last first)
 *   noise = conv_out(act(conv_norm_out(h)))
 *
 * Built from `unet/config.json` (see config.ts); weights taken by diffusers' state_dict names. The model
 * owns its ParamStore: `dispose()` releases it. For Custom Diffusion / DETEX training, call
 * `model.store.makeTrainable(name => /attn2\.to_(k|v)\.weight$/.test(name))` and take gradients with
 * tf.variableGrads; forward reads parameters through the store, so the variables are used directly.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { readComponentConfig, weightFiles } from '../../io/diffusers-folder';
import { Conv2d, GroupNorm, ParamStore, Activation, activationByName } from '../../nn';
import { UNetConfig, ResolvedUNetConfig, resolveUNetConfig, ResolveOptions } from './config';
import { Timesteps, TimestepEmbedding } from './timestep-embedding';
import { DownBlock2D } from './down-block';
import { CrossAttnDownBlock2D } from './cross-attn-down-block';
import { UNetMidBlock2DCrossAttn } from './mid-block';
import { UpBlock2D } from './up-block';
import { CrossAttnUpBlock2D } from './cross-attn-up-block';
import { Transformer2DModel } from './transformer-2d';
import { AttentionCapture, AttentionMaps, CaptureAttentionOptions, CrossAttentionLayerInfo } from './attention-capture';
import { BlockContext, DownBlock, UpBlock, ResnetSettings, AttentionSettings } from './block-types';

export type Timestep = number | readonly number[] | tf.Tensor1D | tf.Scalar;

export interface UNetForwardOptions {
  /** record attn2 maps (forwardWithAttention only) */
  captureAttention?: CaptureAttentionOptions;
  /** also return the hidden states after each top-level module, NHWC (debugging / parity) */
  intermediates?: boolean;
}

export type UNetForwardResult = {
  /** noise prediction [B, H, W, out_channels] */
  sample: tf.Tensor4D;
  /** captured cross-attention maps by attn2 path, [B, h, w, tokens] */
  attentionMaps: AttentionMaps;
  /** by diffusers module name: time_proj, time_embedding, conv_in, down_blocks.i, mid_block, up_blocks.i, conv_norm_out */
  intermediates?: { [module: string]: tf.Tensor };
};

export interface UNetFromConfigOptions extends ResolveOptions {}

export interface UNetLoadOptions extends ResolveOptions {
  /** weights variant, e.g. "fp16" → diffusion_pytorch_model.fp16.safetensors (F16 is converted to float32) */
  variant?: string;
}

/** Where one attn2 module sits: its path and how far below the latent resolution it runs. */
interface AttentionLayerEntry {
  path: string;
  downscale: number;
}

export class UNet2DConditionModel {
  readonly config: ResolvedUNetConfig;
  private readonly timeProj: Timesteps;
  private readonly timeEmbedding: TimestepEmbedding;
  private readonly timeEmbedAct?: Activation;
  private readonly convIn: Conv2d;
  private readonly downBlocks: DownBlock[] = [];
  private readonly midBlock: UNetMidBlock2DCrossAttn | null;
  private readonly upBlocks: UpBlock[] = [];
  private readonly convNormOut: GroupNorm;
  private readonly convAct: Activation;
  private readonly convOut: Conv2d;
  private readonly attentionLayers: AttentionLayerEntry[] = [];

  private constructor(
    readonly store: ParamStore,
    config: ResolvedUNetConfig,
  ) {
    this.config = config;
    const c = config;
    const ch0 = c.blockOutChannels[0];
    this.convIn = new Conv2d(store, 'conv_in', c.inChannels, ch0, c.convInKernel, { padding: (c.convInKernel - 1) / 2 });
    this.timeProj = new Timesteps(ch0, c.flipSinToCos, c.freqShift);
    this.timeEmbedding = new TimestepEmbedding(store, 'time_embedding', ch0, c.timeEmbedDim, c.actFn, c.timestepPostAct);
    if (c.timeEmbeddingActFn !== null) this.timeEmbedAct = activationByName(c.timeEmbeddingActFn);

    const res: ResnetSettings = { tembChannels: c.timeEmbedDim, groups: c.normGroups, eps: c.normEps, actFn: c.actFn };
    const attn: AttentionSettings = { groups: c.normGroups, useLinearProjection: c.useLinearProjection };
    const n = c.down.length;
    const collect = (ts: Transformer2DModel[], downscale: number) => {
      for (const t of ts) for (const p of t.crossAttentionPaths) this.attentionLayers.push({ path: p, downscale });
    };

    c.down.forEach((spec, i) => {
      const prefix = `down_blocks.${i}`;
      if (spec.type === 'CrossAttnDownBlock2D') {
        const b = new CrossAttnDownBlock2D(store, prefix, spec, res, attn, c.downsamplePadding, 2 ** i);
        collect(b.attentions, 2 ** i);
        this.downBlocks.push(b);
      } else {
        this.downBlocks.push(new DownBlock2D(store, prefix, spec, res, c.downsamplePadding));
      }
    });

    this.midBlock = c.mid === null ? null : new UNetMidBlock2DCrossAttn(store, 'mid_block', c.mid, res, attn, 2 ** (n - 1));
    if (this.midBlock) collect(this.midBlock.attentions, 2 ** (n - 1));

    c.up.forEach((spec, i) => {
      const prefix = `up_blocks.${i}`;
      const downscale = 2 ** (n - 1 - i);
      if (spec.type === 'CrossAttnUpBlock2D') {
        const b = new CrossAttnUpBlock2D(store, prefix, spec, res, attn, downscale);
        collect(b.attentions, downscale);
        this.upBlocks.push(b);
      } else {
        this.upBlocks.push(new UpBlock2D(store, prefix, spec, res));
      }
    });

    this.convNormOut = new GroupNorm(store, 'conv_norm_out', c.normGroups, ch0, c.normEps);
    this.convAct = activationByName(c.actFn);
    this.convOut = new Conv2d(store, 'conv_out', ch0, c.outChannels, c.convOutKernel, { padding: (c.convOutKernel - 1) / 2 });
  }

  /**
   * Builds the model from a config object and reference-named weights. Missing weights throw (naming the
   * key and shape); weights nobody used are reported through `warn`. The model takes ownership of `store`.
   */
  static fromConfig(config: UNetConfig, store: ParamStore, opts: UNetFromConfigOptions = {}): UNet2DConditionModel {
    const warn = opts.warn ?? ((m: string) => console.warn(m));
    const resolved = resolveUNetConfig(config, { warn });
    const model = new UNet2DConditionModel(store, resolved);
    const unused = store.unusedKeys();
    if (unused.length > 0) {
      const shown = unused.slice(0, 10).join(', ');
      warn(`UNet: ${unused.length} unexpected weight(s) ignored: ${shown}${unused.length > 10 ? ', …' : ''}`);
    }
    return model;
  }

  /**
   * Reads a diffusers `unet/` folder: `config.json` and `diffusion_pytorch_model[.<variant>].safetensors`
   * (or its sharded index). F16/BF16 weights are converted to float32 by the reader. Synchronous, like
   * AutoencoderKL.load.
   */
  static load(dir: string, opts: UNetLoadOptions = {}): UNet2DConditionModel {
    const raw = readComponentConfig(dir);
    if (raw._class_name !== undefined && raw._class_name !== 'UNet2DConditionModel') {
      throw new Error(`UNet2DConditionModel.load: ${path.join(dir, 'config.json')} is for ${String(raw._class_name)}, not UNet2DConditionModel`);
    }
    const store = ParamStore.fromSafetensors(weightFiles(dir, { variant: opts.variant }));
    try {
      return UNet2DConditionModel.fromConfig(raw as UNetConfig, store, opts);
    } catch (e) {
      store.dispose();
      throw e;
    }
  }

  /** Every attn2 module in forward order, with the spatial size it runs at for a latent of H×W. */
  crossAttentionLayers(latentH: number, latentW: number): CrossAttentionLayerInfo[] {
    return this.attentionLayers.map(({ path: p, downscale }) => {
      const level = Math.round(Math.log2(downscale));
      return {
        path: p,
        h: this.sizeAtLevel(latentH, level),
        w: this.sizeAtLevel(latentW, level),
        latentH,
        latentW,
        downscale,
      };
    });
  }

  private sizeAtLevel(size: number, level: number): number {
    const p = this.config.downsamplePadding;
    let s = size;
    for (let i = 0; i < level; i++) s = p === 0 ? Math.floor((s + 1 - 3) / 2) + 1 : Math.floor((s + 2 * p - 3) / 2) + 1;
    return s;
  }

  /**
   * Noise prediction. sample [B, H, W, in_channels] (NHWC), timesteps one per batch item or one for all,
   * encoderHiddenStates [B, N, cross_attention_dim]. Returns [B, H, W, out_channels]; the caller owns it.
   */
  forward(sample: tf.Tensor4D, timesteps: Timestep, encoderHiddenStates: tf.Tensor3D): tf.Tensor4D {
    return this.run(sample, timesteps, encoderHiddenStates, {}).sample;
  }

  /**
   * The same forward pass, also returning the cross-attention maps asked for (all attn2 layers when
   * `captureAttention` is empty) and, optionally, the intermediates. The maps are part of the pass:
   * a loss on them has gradients. The caller owns every returned tensor.
   */
  forwardWithAttention(
    sample: tf.Tensor4D,
    timesteps: Timestep,
    encoderHiddenStates: tf.Tensor3D,
    opts: UNetForwardOptions = {},
  ): UNetForwardResult {
    return this.run(sample, timesteps, encoderHiddenStates, { ...opts, captureAttention: opts.captureAttention ?? {} });
  }

  /** The forward pass with the hidden state after each top-level module (UNetForwardResult.intermediates). The caller owns every returned tensor. */
  forwardWithIntermediates(sample: tf.Tensor4D, timesteps: Timestep, encoderHiddenStates: tf.Tensor3D): Required<Pick<UNetForwardResult, 'sample' | 'intermediates'>> {
    const out = this.run(sample, timesteps, encoderHiddenStates, { intermediates: true });
    return { sample: out.sample, intermediates: out.intermediates! };
  }

  private run(sample: tf.Tensor4D, timesteps: Timestep, ehs: tf.Tensor3D, opts: UNetForwardOptions): UNetForwardResult {
    const c = this.config;
    if (sample.rank !== 4 || sample.shape[3] !== c.inChannels) {
      throw new Error(`Error in UNet2DConditionModel: sample must be NHWC [B, H, W, ${c.inChannels}], got [${sample.shape}]`);
    }
    const [b, height, width] = sample.shape;
    if (ehs.rank !== 3 || ehs.shape[0] !== b) {
      throw new Error(`Error in UNet2DConditionModel: encoderHiddenStates must be [${b}, N, dim], got [${ehs.shape}]`);
    }
    const capture = opts.captureAttention ? this.makeCapture(opts.captureAttention, height, width) : undefined;

    return tf.tidy(() => {
      const inter: { [module: string]: tf.Tensor } = {};
      const record = (name: string, t: tf.Tensor) => {
        if (opts.intermediates) inter[name] = t;
      };
      // 0. the spatial sizes must halve cleanly n−1 times, else the up path is told the skip sizes
      const upFactor = 2 ** (this.upBlocks.length - 1);
      const forwardUpsampleSize = height % upFactor !== 0 || width % upFactor !== 0;

      // 1. time
      const tProj = this.timeProj.apply(broadcastTimesteps(timesteps, b));
      record('time_proj', tProj);
      let emb = this.timeEmbedding.apply(tProj);
      record('time_embedding', emb);
      if (this.timeEmbedAct) emb = this.timeEmbedAct(emb) as tf.Tensor2D;
      const ctx: BlockContext = { temb: emb, context: ehs, capture };

      // 2. pre-process
      let h = c.centerInputSample ? (tf.sub(tf.mul(sample, 2), 1) as tf.Tensor4D) : sample;
      h = this.convIn.apply(h);
      record('conv_in', h);

      // 3. down
      let maps: AttentionMaps = {};
      let skips: tf.Tensor4D[] = [h];
      this.downBlocks.forEach((block, i) => {
        const out = block.apply(h, ctx);
        h = out.hidden;
        skips = skips.concat(out.skips);
        maps = { ...maps, ...out.maps };
        record(`down_blocks.${i}`, h);
      });

      // 4. mid
      if (this.midBlock) {
        const out = this.midBlock.apply(h, ctx);
        h = out.hidden;
        maps = { ...maps, ...out.maps };
        record('mid_block', h);
      }

      // 5. up: each block consumes its resnets' worth of skips from the end
      this.upBlocks.forEach((block, i) => {
        const mine = skips.slice(skips.length - block.numResnets);
        skips = skips.slice(0, skips.length - block.numResnets);
        const isFinal = i === this.upBlocks.length - 1;
        let size: [number, number] | undefined;
        if (!isFinal && forwardUpsampleSize) {
          const next = skips[skips.length - 1];
          size = [next.shape[1], next.shape[2]];
        }
        const out = block.apply(h, mine, ctx, size);
        h = out.hidden;
        maps = { ...maps, ...out.maps };
        record(`up_blocks.${i}`, h);
      });

      // 6. post-process
      h = this.convNormOut.apply(h);
      record('conv_norm_out', h);
      const noise = this.convOut.apply(this.convAct(h) as tf.Tensor4D);
      const result: UNetForwardResult = { sample: noise, attentionMaps: maps };
      if (opts.intermediates) result.intermediates = inter;
      return result;
    });
  }

  private makeCapture(opts: CaptureAttentionOptions, h: number, w: number): AttentionCapture {
    const { layers } = opts;
    if (Array.isArray(layers)) {
      const known = new Set(this.attentionLayers.map((l) => l.path));
      const unknown = layers.filter((l) => !known.has(l));
      if (unknown.length > 0) {
        throw new Error(`Error in captureAttention: unknown attn2 module(s) ${unknown.join(', ')} (known: ${[...known].join(', ')})`);
      }
    }
    return new AttentionCapture(opts, h, w);
  }

  dispose(): void {
    this.store.dispose();
  }
}

/** number | number[] | tensor → float32 [B]; a single value is broadcast over the batch (diffusers' expand). */
function broadcastTimesteps(t: Timestep, batch: number): tf.Tensor1D {
  return tf.tidy(() => {
    let ts: tf.Tensor1D;
    if (typeof t === 'number') ts = tf.tensor1d([t], 'float32');
    else if (t instanceof tf.Tensor) ts = tf.reshape(tf.cast(t, 'float32'), [-1]) as tf.Tensor1D;
    else ts = tf.tensor1d(Array.from(t), 'float32');
    const n = ts.shape[0];
    if (n === batch) return ts;
    if (n === 1) return tf.tile(ts, [batch]);
    throw new Error(`Error in UNet2DConditionModel: ${n} timesteps for a batch of ${batch} (give one, or one per item)`);
  });
}
