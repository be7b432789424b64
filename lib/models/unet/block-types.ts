/** What the UNet's down, mid and up blocks receive and return (NHWC). */
import * as tf from '@tensorflow/tfjs-core';
import { AttentionCapture, AttentionMaps } from './attention-capture';

export type BlockContext = {
  /** time embedding [B, time_embed_dim] */
  temb: tf.Tensor2D;
  /** encoder_hidden_states [B, Nk, cross_attention_dim] */
  context: tf.Tensor3D;
  capture?: AttentionCapture;
};

export type DownBlockOutput = {
  hidden: tf.Tensor4D;
  /** one per resnet, plus the downsampler's output: the skip connections, in order */
  skips: tf.Tensor4D[];
  maps: AttentionMaps;
};

export type BlockOutput = { hidden: tf.Tensor4D; maps: AttentionMaps };

/** Resnet settings shared by every block of one UNet. */
export interface ResnetSettings {
  tembChannels: number;
  groups: number;
  eps: number;
  actFn: string;
}

/** Attention settings shared by every Transformer2DModel of one UNet. */
export interface AttentionSettings {
  groups: number;
  useLinearProjection: boolean;
}

export interface DownBlock {
  readonly numResnets: number;
  apply(x: tf.Tensor4D, ctx: BlockContext): DownBlockOutput;
}

export interface UpBlock {
  readonly numResnets: number;
  /** skips: this block's skip connections, the last one used first; upsampleSize when not ×2 */
  apply(x: tf.Tensor4D, skips: tf.Tensor4D[], ctx: BlockContext, upsampleSize?: [number, number]): BlockOutput;
}
