/**
 * The VAE Encoder: image [B,H,W,in] → moments source [B, H/f, W/f, 2·latent] (f = 2^(blocks−1)).
 *   conv_in → down_blocks[i] (layers_per_block resnets, then a Downsample except in the last block)
 *   → mid_block → conv_norm_out → act → conv_out (double_z: mean and logvar channels)
 */
import * as tf from '@tensorflow/tfjs-core';
import { Activation, activationByName, Conv2d, GroupNorm, ParamStore } from '../../nn';
import { VAEConfig, VAE_NORM_EPS } from './config';
import { VAEMidBlock } from './mid-block';
import { Downsample } from './resampling';
import { VAEResnetBlock } from './resnet-block';

interface DownEncoderBlock {
  resnets: VAEResnetBlock[];
  downsample?: Downsample;
}

export class VAEEncoder {
  private readonly act: Activation;
  private readonly convIn: Conv2d;
  private readonly downBlocks: DownEncoderBlock[] = [];
  private readonly midBlock: VAEMidBlock;
  private readonly normOut: GroupNorm;
  private readonly convOut: Conv2d;

  constructor(store: ParamStore, prefix: string, c: VAEConfig) {
    const groups = c.norm_num_groups;
    const eps = VAE_NORM_EPS;
    const ch = c.block_out_channels;
    this.act = activationByName(c.act_fn);
    this.convIn = new Conv2d(store, `${prefix}.conv_in`, c.in_channels, ch[0], 3, { padding: 1 });
    let outC = ch[0];
    ch.forEach((blockC, i) => {
      const inC = outC;
      outC = blockC;
      const p = `${prefix}.down_blocks.${i}`;
      const resnets: VAEResnetBlock[] = [];
      for (let j = 0; j < c.layers_per_block; j++) {
        resnets.push(new VAEResnetBlock(store, `${p}.resnets.${j}`, j === 0 ? inC : outC, outC, groups, eps, this.act));
      }
      const isFinal = i === ch.length - 1;
      this.downBlocks.push({ resnets, downsample: isFinal ? undefined : new Downsample(store, `${p}.downsamplers.0`, outC) });
    });
    const top = ch[ch.length - 1];
    this.midBlock = new VAEMidBlock(store, `${prefix}.mid_block`, top, groups, eps, this.act, c.mid_block_add_attention);
    this.normOut = new GroupNorm(store, `${prefix}.conv_norm_out`, groups, top, eps);
    this.convOut = new Conv2d(store, `${prefix}.conv_out`, top, 2 * c.latent_channels, 3, { padding: 1 });
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let h = this.convIn.apply(x);
      for (const block of this.downBlocks) {
        for (const r of block.resnets) h = r.apply(h);
        if (block.downsample) h = block.downsample.apply(h);
      }
      h = this.midBlock.apply(h);
      return this.convOut.apply(this.normOut.applyThen(h, this.act));
    });
  }
}
