/**
 * diffusers' `UpBlock2D`: for each resnet, concatenate the latest skip connection on the channel axis
 * ([h | skip]) and apply it; then an optional nearest ×2 upsample + conv.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ParamStore } from '../../nn';
import { BlockSpec } from './config';
import { ResnetBlock2D } from './resnet';
import { Upsample2D } from './resample';
import { BlockContext, BlockOutput, ResnetSettings, UpBlock } from './block-types';

/** Input channels of an up block's resnet i: the running hidden state plus the skip it consumes. */
export function upResnetInChannels(spec: BlockSpec, i: number): number {
  const skip = i === spec.numLayers - 1 ? spec.inChannels : spec.outChannels;
  const hidden = i === 0 ? spec.prevOutputChannels : spec.outChannels;
  return hidden + skip;
}

/** Pops skip connections from the end, checking there are enough. */
export function takeSkip(skips: tf.Tensor4D[], used: number, where: string): tf.Tensor4D {
  const s = skips[skips.length - 1 - used];
  if (!s) throw new Error(`Error in ${where}: ran out of skip connections`);
  return s;
}

export class UpBlock2D implements UpBlock {
  private readonly resnets: ResnetBlock2D[] = [];
  private readonly upsampler?: Upsample2D;

  constructor(store: ParamStore, private readonly prefix: string, spec: BlockSpec, res: ResnetSettings) {
    for (let i = 0; i < spec.numLayers; i++) {
      this.resnets.push(
        new ResnetBlock2D(store, `${prefix}.resnets.${i}`, upResnetInChannels(spec, i), spec.outChannels, res.tembChannels, res),
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
      this.resnets.forEach((resnet, i) => {
        h = resnet.apply(tf.concat([h, takeSkip(skips, i, this.prefix)], 3) as tf.Tensor4D, ctx.temb);
      });
      if (this.upsampler) h = this.upsampler.apply(h, upsampleSize);
      return { hidden: h, maps: {} };
    });
  }
}
