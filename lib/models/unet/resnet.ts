/**
 * diffusers' `ResnetBlock2D` with time_embedding_norm "default" (the only kind SD uses), NHWC:
 *   h = conv1(act(norm1(x))) + time_emb_proj(act(temb)); h = conv2(act(norm2(h)));
 *   out = (shortcut(x) + h) / output_scale_factor, shortcut = 1×1 conv_shortcut when channels change.
 * Dropout (between act and conv2) is the identity: p = 0 in SD and no training path here uses it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Conv2d, GroupNorm, Linear, ParamStore, Activation, activationByName } from '../../nn';

export interface ResnetOptions {
  groups: number;
  eps: number;
  actFn: string;
  outputScaleFactor?: number;
}

export class ResnetBlock2D {
  private readonly norm1: GroupNorm;
  private readonly conv1: Conv2d;
  private readonly timeEmbProj: Linear;
  private readonly norm2: GroupNorm;
  private readonly conv2: Conv2d;
  private readonly convShortcut?: Conv2d;
  private readonly act: Activation;
  private readonly outputScaleFactor: number;

  constructor(store: ParamStore, prefix: string, inChannels: number, outChannels: number, tembChannels: number, opts: ResnetOptions) {
    this.norm1 = new GroupNorm(store, `${prefix}.norm1`, opts.groups, inChannels, opts.eps);
    this.conv1 = new Conv2d(store, `${prefix}.conv1`, inChannels, outChannels, 3, { padding: 1 });
    this.timeEmbProj = new Linear(store, `${prefix}.time_emb_proj`, tembChannels, outChannels);
    this.norm2 = new GroupNorm(store, `${prefix}.norm2`, opts.groups, outChannels, opts.eps);
    this.conv2 = new Conv2d(store, `${prefix}.conv2`, outChannels, outChannels, 3, { padding: 1 });
    if (inChannels !== outChannels) {
      this.convShortcut = new Conv2d(store, `${prefix}.conv_shortcut`, inChannels, outChannels, 1);
    }
    this.act = activationByName(opts.actFn);
    this.outputScaleFactor = opts.outputScaleFactor ?? 1;
  }

  /** x [B, H, W, Cin], temb [B, T] → [B, H, W, Cout] */
  apply(x: tf.Tensor4D, temb: tf.Tensor2D): tf.Tensor4D {
    return tf.tidy(() => {
      let h = this.conv1.apply(this.norm1.applyThen(x, this.act));
      const t = this.timeEmbProj.apply(this.act(temb) as tf.Tensor2D); // [B, Cout]
      h = tf.add(h, tf.reshape(t, [t.shape[0], 1, 1, t.shape[1]]));
      h = this.conv2.apply(this.norm2.applyThen(h, this.act));
      const skip = this.convShortcut ? this.convShortcut.apply(x) : x;
      const out = tf.add(skip, h) as tf.Tensor4D;
      return this.outputScaleFactor === 1 ? out : (tf.div(out, this.outputScaleFactor) as tf.Tensor4D);
    });
  }
}
