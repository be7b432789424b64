/**
 * The VAE Decoder: latent [B,h,w,latent] → image [B, h·f, w·f, out].
 *   conv_in → mid_block → up_blocks[i] over reversed block_out_channels (layers_per_block + 1 resnets,
 *   then an Upsample except in the last block) → conv_norm_out → act → conv_out
 */
import * as tf from '@tensorflow/tfjs-core';
import { Activation, activationByName, Conv2d, GroupNorm, ParamStore } from '../../nn';
import { VAEConfig, VAE_NORM_EPS } from './config';
import { VAEMidBlock } from './mid-block';
import { Upsample } from './resampling';
import { VAEResnetBlock } from './resnet-block';

interface UpDecoderBlock {
  resnets: VAEResnetBlock[];
  upsample?: Upsample;
}

export class VAEDecoder {
  private readonly act: Activation;
  private readonly convIn: Conv2d;
  private readonly midBlock: VAEMidBlock;
  private readonly upBlocks: UpDecoderBlock[] = [];
  private readonly normOut: GroupNorm;
  private readonly convOut: Conv2d;

  constructor(store: ParamStore, prefix: string, c: VAEConfig) {
    const groups = c.norm_num_groups;
    const eps = VAE_NORM_EPS;
    const reversed = [...c.block_out_channels].reverse();
    this.act = activationByName(c.act_fn);
    this.convIn = new Conv2d(store, `${prefix}.conv_in`, c.latent_channels, reversed[0], 3, { padding: 1 });
    this.midBlock = new VAEMidBlock(store, `${prefix}.mid_block`, reversed[0], groups, eps, this.act, c.mid_block_add_attention);
    let outC = reversed[0];
    reversed.forEach((blockC, i) => {
      const inC = outC;
      outC = blockC;
      const p = `${prefix}.up_blocks.${i}`;
      const resnets: VAEResnetBlock[] = [];
      for (let j = 0; j < c.layers_per_block + 1; j++) {
        resnets.push(new VAEResnetBlock(store, `${p}.resnets.${j}`, j === 0 ? inC : outC, outC, groups, eps, this.act));
      }
      const isFinal = i === reversed.length - 1;
      this.upBlocks.push({ resnets, upsample: isFinal ? undefined : new Upsample(store, `${p}.upsamplers.0`, outC) });
    });
    const bottom = c.block_out_channels[0];
    this.normOut = new GroupNorm(store, `${prefix}.conv_norm_out`, groups, bottom, eps);
    this.convOut = new Conv2d(store, `${prefix}.conv_out`, bottom, c.out_channels, 3, { padding: 1 });
  }

  apply(z: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let h = this.midBlock.apply(this.convIn.apply(z));
      for (const block of this.upBlocks) {
        for (const r of block.resnets) h = r.apply(h);
        if (block.upsample) h = block.upsample.apply(h);
      }
      return this.convOut.apply(this.normOut.applyThen(h, this.act));
    });
  }
}
