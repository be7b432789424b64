/**
 * diffusers' `CrossAttnDownBlock2D`: (resnet → Transformer2DModel) × layers, then an optional stride-2
 * conv; each pair's output and the downsampler's output are skip connections.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ParamStore } from '../../nn';
import { BlockSpec } from './config';
import { ResnetBlock2D } from './resnet';
import { Downsample2D } from './resample';
import { Transformer2DModel } from './transformer-2d';
import { AttentionMaps } from './attention-capture';
import { AttentionSettings, BlockContext, DownBlock, DownBlockOutput, ResnetSettings } from './block-types';

export class CrossAttnDownBlock2D implements DownBlock {
  private readonly resnets: ResnetBlock2D[] = [];
  readonly attentions: Transformer2DModel[] = [];
  private readonly downsampler?: Downsample2D;

  /** downscale: 2^(index of this block), the resolution of its attentions relative to the latent */
  constructor(
    store: ParamStore,
    prefix: string,
    spec: BlockSpec,
    res: ResnetSettings,
    attn: AttentionSettings,
    downsamplePadding: number,
    downscale: number,
  ) {
    for (let i = 0; i < spec.numLayers; i++) {
      const inC = i === 0 ? spec.inChannels : spec.outChannels;
      this.resnets.push(new ResnetBlock2D(store, `${prefix}.resnets.${i}`, inC, spec.outChannels, res.tembChannels, res));
      this.attentions.push(
        new Transformer2DModel(store, `${prefix}.attentions.${i}`, {
          channels: spec.outChannels,
          heads: spec.heads,
          numLayers: spec.transformerLayers[i],
          crossAttentionDim: spec.crossAttentionDim,
          groups: attn.groups,
          useLinearProjection: attn.useLinearProjection,
          onlyCrossAttention: spec.onlyCrossAttention,
          downscale,
        }),
      );
    }
    if (spec.resample) {
      this.downsampler = new Downsample2D(store, `${prefix}.downsamplers.0`, spec.outChannels, spec.outChannels, downsamplePadding);
    }
  }

  get numResnets(): number {
    return this.resnets.length;
  }

  apply(x: tf.Tensor4D, ctx: BlockContext): DownBlockOutput {
    return tf.tidy(() => {
      const skips: tf.Tensor4D[] = [];
      let maps: AttentionMaps = {};
      let h = x;
      this.resnets.forEach((resnet, i) => {
        h = resnet.apply(h, ctx.temb);
        const t = this.attentions[i].apply(h, ctx.context, ctx.capture);
        h = t.hidden;
        maps = { ...maps, ...t.maps };
        skips.push(h);
      });
      if (this.downsampler) {
        h = this.downsampler.apply(h);
        skips.push(h);
      }
      return { hidden: h, skips, maps };
    });
  }
}
