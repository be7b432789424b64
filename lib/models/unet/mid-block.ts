/**
 * diffusers' `UNetMidBlock2DCrossAttn` (num_layers 1): resnet → Transformer2DModel → resnet, with the
 * resnets' output divided by mid_block_scale_factor. No skip connections leave it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ParamStore } from '../../nn';
import { MidBlockSpec } from './config';
import { ResnetBlock2D } from './resnet';
import { Transformer2DModel } from './transformer-2d';
import { AttentionSettings, BlockContext, BlockOutput, ResnetSettings } from './block-types';

export class UNetMidBlock2DCrossAttn {
  private readonly resnets: ResnetBlock2D[];
  readonly attentions: Transformer2DModel[];

  constructor(store: ParamStore, prefix: string, spec: MidBlockSpec, res: ResnetSettings, attn: AttentionSettings, downscale: number) {
    const c = spec.channels;
    const resOpts = { ...res, outputScaleFactor: spec.outputScaleFactor };
    this.resnets = [0, 1].map((i) => new ResnetBlock2D(store, `${prefix}.resnets.${i}`, c, c, res.tembChannels, resOpts));
    this.attentions = [
      new Transformer2DModel(store, `${prefix}.attentions.0`, {
        channels: c,
        heads: spec.heads,
        numLayers: spec.transformerLayers,
        crossAttentionDim: spec.crossAttentionDim,
        groups: attn.groups,
        useLinearProjection: attn.useLinearProjection,
        onlyCrossAttention: false,
        downscale,
      }),
    ];
  }

  apply(x: tf.Tensor4D, ctx: BlockContext): BlockOutput {
    return tf.tidy(() => {
      let h = this.resnets[0].apply(x, ctx.temb);
      const t = this.attentions[0].apply(h, ctx.context, ctx.capture);
      h = this.resnets[1].apply(t.hidden, ctx.temb);
      return { hidden: h, maps: t.maps };
    });
  }
}
