/** GroupNorm (NHWC) and LayerNorm (last axis) with PyTorch's biased variance and affine parameters. */
import * as tf from '@tensorflow/tfjs-core';
import { Activation, silu } from './activations';
import { ParamStore } from './params';

/**
 * Registered by lib/backend/native-kernels on 'cpu' when the addon has them: one kernel for the whole norm
 * (and the SiLU after a group norm), one for its gradient, instead of ~10 tfjs ops each way.
 */
const GROUP_NORM = 'DetexGroupNorm';
const GROUP_NORM_GRAD = 'DetexGroupNormGrad';
const LAYER_NORM = 'DetexLayerNorm';
const LAYER_NORM_GRAD = 'DetexLayerNormGrad';

function fusedServes(x: tf.Tensor, kernel: string, grad: string): boolean {
  if (x.dtype !== 'float32') return false;
  const backend = tf.getBackend();
  return !!tf.getKernel(kernel, backend) && !!tf.getKernel(grad, backend);
}

/** The fused group norm with its gradient (customGrad: dx, dγ and dβ from one backward call). */
function fusedGroupNorm(x: tf.Tensor, gamma: tf.Tensor | undefined, beta: tf.Tensor | undefined, groups: number, eps: number, withSilu: boolean): tf.Tensor {
  const attrs = { groups, eps, silu: withSilu ? 1 : 0 };
  const params = gamma && beta ? [gamma, beta] : [];
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const [xx, g, b] = args.slice(0, -1) as tf.Tensor[];
    const inputs: tf.NamedTensorMap = g ? { x: xx, gamma: g, beta: b } : { x: xx };
    const [y, mean, rstd] = tf.engine().runKernel(GROUP_NORM, inputs, attrs) as tf.Tensor[];
    save(g ? [xx, g, b, mean, rstd] : [xx, mean, rstd]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const grads: tf.NamedTensorMap = saved.length === 5
          ? { x: saved[0], gamma: saved[1], beta: saved[2], mean: saved[3], rstd: saved[4], dy }
          : { x: saved[0], mean: saved[1], rstd: saved[2], dy };
        return tf.engine().runKernel(GROUP_NORM_GRAD, grads, attrs) as tf.Tensor[];
      },
    };
  });
  return tf.tidy(() => f(x, ...params));
}

/** The fused layer norm with its gradient. */
function fusedLayerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
  const attrs = { eps };
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xx, g, b] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const [y, mean, rstd] = tf.engine().runKernel(LAYER_NORM, { x: xx, gamma: g, beta: b }, attrs) as tf.Tensor[];
    save([xx, g, mean, rstd]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sg, sm, sr] = saved;
        return tf.engine().runKernel(LAYER_NORM_GRAD, { x: sx, gamma: sg, mean: sm, rstd: sr, dy }, attrs) as tf.Tensor[];
      },
    };
  });
  return tf.tidy(() => f(x, gamma, beta));
}

export class GroupNorm {
  readonly weight: string;
  readonly bias: string;

  constructor(
    private readonly store: ParamStore,
    prefix: string,
    readonly groups: number,
    readonly channels: number,
    readonly eps: number,
    opts: { affine?: boolean } = {},
  ) {
    if (channels % groups !== 0) throw new Error(`GroupNorm ${prefix}: ${channels} channels do not split into ${groups} groups`);
    this.weight = `${prefix}.weight`;
    this.bias = `${prefix}.bias`;
    this.affine = opts.affine ?? true;
    if (this.affine) {
      store.take(this.weight, [channels]);
      store.take(this.bias, [channels]);
    }
  }

  private readonly affine: boolean;

  /** x: [B, H, W, C] (or [B, N, C], treated as H=N, W=1). */
  apply<T extends tf.Tensor>(x: T): T {
    return this.normalize(x, false);
  }

  /** act(apply(x)); one fused kernel (forward and gradient) when act is SiLU and the backend has it. */
  applyThen<T extends tf.Tensor>(x: T, act: Activation): T {
    if (act === silu) return this.normalize(x, true);
    return tf.tidy(() => act(this.apply(x))) as T;
  }

  private normalize<T extends tf.Tensor>(x: T, withSilu: boolean): T {
    const c = x.shape[x.shape.length - 1];
    if (c !== this.channels) throw new Error(`Error in GroupNorm ${this.weight}: input has ${c} channels, expected ${this.channels}`);
    if (fusedServes(x, GROUP_NORM, GROUP_NORM_GRAD)) {
      const gamma = this.affine ? this.store.tensor(this.weight) : undefined;
      const beta = this.affine ? this.store.tensor(this.bias) : undefined;
      return fusedGroupNorm(x, gamma, beta, this.groups, this.eps, withSilu) as T;
    }
    const y = this.unfused(x);
    if (!withSilu) return y;
    return tf.tidy(() => {
      const out = silu(y);
      y.dispose();
      return out;
    }) as T;
  }

  private unfused<T extends tf.Tensor>(x: T): T {
    return tf.tidy(() => {
      const shape = x.shape;
      const c = shape[shape.length - 1];
      const g = this.groups;
      const grouped = tf.reshape(x, [shape[0], -1, g, c / g]);
      const { mean, variance } = tf.moments(grouped, [1, 3], true);
      const normed = tf.reshape(tf.div(tf.sub(grouped, mean), tf.sqrt(tf.add(variance, this.eps))), shape);
      if (!this.affine) return normed as T;
      return tf.add(tf.mul(normed, this.store.tensor(this.weight)), this.store.tensor(this.bias)) as T;
    });
  }
}

export class LayerNorm {
  readonly weight: string;
  readonly bias: string;

  constructor(
    private readonly store: ParamStore,
    prefix: string,
    readonly dim: number,
    readonly eps: number,
  ) {
    this.weight = `${prefix}.weight`;
    this.bias = `${prefix}.bias`;
    store.take(this.weight, [dim]);
    store.take(this.bias, [dim]);
  }

  /** The stored γ and β [dim] (not copies: for kernels that take the layer whole). */
  tensors(): { gamma: tf.Tensor1D; beta: tf.Tensor1D } {
    return { gamma: this.store.tensor(this.weight) as tf.Tensor1D, beta: this.store.tensor(this.bias) as tf.Tensor1D };
  }

  apply<T extends tf.Tensor>(x: T): T {
    const axis = x.rank - 1;
    if (x.shape[axis] !== this.dim) throw new Error(`Error in LayerNorm ${this.weight}: input width ${x.shape[axis]} ≠ ${this.dim}`);
    if (fusedServes(x, LAYER_NORM, LAYER_NORM_GRAD)) {
      return fusedLayerNorm(x, this.store.tensor(this.weight), this.store.tensor(this.bias), this.eps) as T;
    }
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, axis, true);
      const normed = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, this.eps)));
      return tf.add(tf.mul(normed, this.store.tensor(this.weight)), this.store.tensor(this.bias)) as T;
    });
  }
}
