/** UNetMidBlock2D as the VAE uses it: resnet → (attention → resnet) with one layer, no time embedding. */
import * as tf from '@tensorflow/tfjs-core';
import { Activation, ParamStore } from '../../nn';
import { VAEAttentionBlock } from './attention-block';
import { VAEResnetBlock } from './resnet-block';

export class VAEMidBlock {
  private readonly resnets: VAEResnetBlock[];
  private readonly attention?: VAEAttentionBlock;

  constructor(
    store: ParamStore,
    prefix: string,
    channels: number,
    groups: number,
    eps: number,
    act: Activation,
    addAttention: boolean,
  ) {
    this.resnets = [0, 1].map((i) => new VAEResnetBlock(store, `${prefix}.resnets.${i}`, channels, channels, groups, eps, act));
    if (addAttention) {
      // attention_head_dim = channels → a single head
      this.attention = new VAEAttentionBlock(store, `${prefix}.attentions.0`, channels, channels, groups, eps);
    }
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let h = this.resnets[0].apply(x);
      if (this.attention) h = this.attention.apply(h);
      return this.resnets[1].apply(h);
    });
  }
}
