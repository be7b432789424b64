/**
 * diffusers' `CrossAttnUpBlock2D`: for each layer, concatenate the latest skip ([h | skip]), apply the
 * resnet, then the Transformer2DModel; then an optional nearest ×2 upsample + conv.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ParamStore } from '../../nn';
import { BlockSpec } from './config';
import { ResnetBlock2D } from './resnet';
import { Upsample2D } from './resample';
import { Transformer2DModel } from './transformer-2d';
import { AttentionMaps } from './attention-capture';
import { upResnetInChannels, takeSkip } from './up-block';
import { AttentionSettings, BlockContext, BlockOutput, ResnetSettings, UpBlock } from './block-types';

export class CrossAttnUpBlock2D implements UpBlock {
  private readonly resnets: ResnetBlock2D[] = [];
  readonly attentions: Transformer2DModel[] = [];
  private readonly upsampler?: Upsample2D;

  /** downscale: resolution of this block's attentions relative to the latent */
  constructor(
    store: ParamStore,
    private readonly prefix: string,
    spec: BlockSpec,
    res: ResnetSettings,
    attn: AttentionSettings,
    downscale: number,
  ) {
    for (let i = 0; i < spec.numLayers; i++) {
      this.resnets.push(
        new ResnetBlock2D(store, `${prefix}.resnets.${i}`, upResnetInChannels(spec, i), spec.outChannels, res.tembChannels, res),
      );
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
    if (spec.resample) this.upsampler = new Upsample2D(store, `${prefix}.upsamplers.0`, spec.outChannels, spec.outChannels);
  }

  get numResnets(): number {
    return this.resnets.length;
  }

  apply(x: tf.Tensor4D, skips: tf.Tensor4D[], ctx: BlockContext, upsampleSize?: [number, number]): BlockOutput {
    return tf.tidy(() => {
      let h = x;
      let maps: AttentionMaps = {};
      this.resnets.forEach((resnet, i) => {
        h = resnet.apply(tf.concat([h, takeSkip(skips, i, this.prefix)], 3) as tf.Tensor4D, ctx.temb);
        const t = this.attentions[i].apply(h, ctx.context, ctx.capture);
        h = t.hidden;
        maps = { ...maps, ...t.maps };
      });
      if (this.upsampler) h = this.upsampler.apply(h, upsampleSize);
      return { hidden: h, maps };
    });
  }
}
