/** diffusers' `DownBlock2D`: resnets, then an optional stride-2 conv; every output is a skip connection. */
import * as tf from '@tensorflow/tfjs-core';
import { ParamStore } from '../../nn';
import { BlockSpec } from './config';
import { ResnetBlock2D } from './resnet';
import { Downsample2D } from './resample';
import { BlockContext, DownBlock, DownBlockOutput, ResnetSettings } from './block-types';

export class DownBlock2D implements DownBlock {
  private readonly resnets: ResnetBlock2D[] = [];
  private readonly downsampler?: Downsample2D;

  constructor(store: ParamStore, prefix: string, spec: BlockSpec, res: ResnetSettings, downsamplePadding: number) {
    for (let i = 0; i < spec.numLayers; i++) {
      const inC = i === 0 ? spec.inChannels : spec.outChannels;
      this.resnets.push(new ResnetBlock2D(store, `${prefix}.resnets.${i}`, inC, spec.outChannels, res.tembChannels, res));
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
      let h = x;
      for (const resnet of this.resnets) {
        h = resnet.apply(h, ctx.temb);
        skips.push(h);
      }
      if (this.downsampler) {
        h = this.downsampler.apply(h);
        skips.push(h);
      }
      return { hidden: h, skips, maps: {} };
    });
  }
}
