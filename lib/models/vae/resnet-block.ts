/**
 * The VAE's ResnetBlock2D (no time embedding): GroupNorm → act → conv3×3 → GroupNorm → act → conv3×3, plus a
 * 1×1 `conv_shortcut` when the channel count changes. NHWC.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Activation, Conv2d, GroupNorm, ParamStore } from '../../nn';

export class VAEResnetBlock {
  private readonly norm1: GroupNorm;
  private readonly conv1: Conv2d;
  private readonly norm2: GroupNorm;
  private readonly conv2: Conv2d;
  private readonly shortcut?: Conv2d;

  constructor(
    store: ParamStore,
    prefix: string,
    inChannels: number,
    outChannels: number,
    groups: number,
    eps: number,
    private readonly act: Activation,
  ) {
    this.norm1 = new GroupNorm(store, `${prefix}.norm1`, groups, inChannels, eps);
    this.conv1 = new Conv2d(store, `${prefix}.conv1`, inChannels, outChannels, 3, { padding: 1 });
    this.norm2 = new GroupNorm(store, `${prefix}.norm2`, groups, outChannels, eps);
    this.conv2 = new Conv2d(store, `${prefix}.conv2`, outChannels, outChannels, 3, { padding: 1 });
    if (inChannels !== outChannels) {
      this.shortcut = new Conv2d(store, `${prefix}.conv_shortcut`, inChannels, outChannels, 1);
    }
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const h = this.conv1.apply(this.norm1.applyThen(x, this.act));
      const skip = this.shortcut ? this.shortcut.apply(x) : x;
      // the residual is added inside conv2's kernel at inference (Conv2d.applyAdd)
      return this.conv2.applyAdd(this.norm2.applyThen(h, this.act), skip);
    });
  }
}
