/**
 * AdamW (Loshchilov & Hutter 2019) exactly as torch.optim.AdamW (non-amsgrad, single-tensor path) steps:
 *
 *   θ ← θ·(1 − lr·λ)                         decoupled weight decay, applied before the moment update
 *   m ← β1·m + (1 − β1)·g
 *   v ← β2·v + (1 − β2)·g²
 *   θ ← θ − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
 *
 * Why our own: tfjs' AdamOptimizer folds weight decay into nothing (it has none) and keeps state we cannot
 * save and restore for a resumable checkpoint. State exists only for the variables handed in (the trainables).
 *
 * Where the backend has the fused kernel (DetexAdamW, native/src/adamw.cc on cpu+native; DETEX_NATIVE_ADAMW=0
 * leaves it out) a variable's update is that one kernel call instead of ~14 small tfjs ops, same arithmetic op
 * by op; elsewhere (WASM, plain cpu) the composed ops below run.
 */
import * as tf from '@tensorflow/tfjs-core';
import { AdamWOptions } from './config';

/** Registered by lib/backend/native-kernels on 'cpu' (not imported from there: that would load the addon). */
const ADAMW = 'DetexAdamW';

export interface AdamWState {
  /** steps taken so far (t of the last update) */
  step: number;
  /** first and second moments by variable name, in the variable's (tfjs) layout */
  m: Map<string, tf.Tensor>;
  v: Map<string, tf.Tensor>;
}

/** This step's learning rate and bias corrections: bc1 = 1 − β1^t, bc2Sqrt = √(1 − β2^t). */
interface StepScalars { lr: number; bc1: number; bc2Sqrt: number }
interface StepResult { next: tf.Tensor; m: tf.Tensor; v: tf.Tensor }

export class AdamW {
  private t = 0;
  private readonly m = new Map<string, tf.Tensor>();
  private readonly v = new Map<string, tf.Tensor>();

  constructor(
    private readonly vars: ReadonlyMap<string, tf.Variable>,
    private readonly opts: AdamWOptions,
  ) {
    for (const [name, p] of vars) {
      this.m.set(name, tf.keep(tf.zerosLike(p)));
      this.v.set(name, tf.keep(tf.zerosLike(p)));
    }
  }

  get step(): number {
    return this.t;
  }

  /**
   * One update with these gradients (by variable name; a variable without a gradient is left alone). `lr` is one
   * rate for all, or a rate per variable name (one step count and bias correction either way).
   */
  apply(grads: ReadonlyMap<string, tf.Tensor> | Record<string, tf.Tensor>, lr: number | ((name: string) => number)): void {
    const g = grads instanceof Map ? grads : new Map(Object.entries(grads));
    for (const name of g.keys()) {
      if (!this.vars.has(name)) throw new Error(`AdamW: gradient for "${name}", which is not a trained variable`);
    }
    this.t += 1;
    const { beta1, beta2 } = this.opts;
    const bc1 = 1 - Math.pow(beta1, this.t);
    const bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, this.t));
    const fused = !!tf.getKernel(ADAMW, tf.getBackend());
    for (const [name, p] of this.vars) {
      const grad = g.get(name);
      if (!grad) continue;
      const m0 = this.m.get(name)!, v0 = this.v.get(name)!;
      const step = fused && p.dtype === 'float32' && grad.dtype === 'float32' ? this.fusedStep : this.composedStep;
      const { next, m, v } = step.call(this, p, grad, m0, v0, { lr: typeof lr === 'number' ? lr : lr(name), bc1, bc2Sqrt });
      p.assign(next);
      next.dispose();
      m0.dispose();
      v0.dispose();
      this.m.set(name, m);
      this.v.set(name, v);
    }
  }

  /** The update as tfjs ops (every backend). */
  private composedStep(p: tf.Tensor, grad: tf.Tensor, m0: tf.Tensor, v0: tf.Tensor, s: StepScalars): StepResult {
    const { beta1, beta2, eps, weightDecay } = this.opts;
    const { lr, bc1, bc2Sqrt } = s;
    const [m, v, next] = tf.tidy(() => {
      const decayed = weightDecay !== 0 ? tf.mul(p, 1 - lr * weightDecay) : p;
      const m1 = tf.add(tf.mul(m0, beta1), tf.mul(grad, 1 - beta1));
      const v1 = tf.add(tf.mul(v0, beta2), tf.mul(tf.square(grad), 1 - beta2));
      const denom = tf.add(tf.div(tf.sqrt(v1), bc2Sqrt), eps);
      return [m1, v1, tf.sub(decayed, tf.mul(tf.div(m1, denom), lr / bc1))];
    });
    return { next, m, v };
  }

  /** The same update as one kernel call (the kernel computes the scalars above from the same doubles). */
  private fusedStep(p: tf.Tensor, grad: tf.Tensor, m0: tf.Tensor, v0: tf.Tensor, s: StepScalars): StepResult {
    const { beta1, beta2, eps, weightDecay } = this.opts;
    const attrs = { ...s, beta1, beta2, eps, weightDecay };
    const [next, m, v] = tf.engine().runKernel(ADAMW, { param: p, grad, m: m0, v: v0 }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
    return { next, m, v };
  }

  /** Copies of the state (caller owns the tensors). */
  getState(): AdamWState {
    const copy = (src: Map<string, tf.Tensor>) => new Map([...src].map(([k, t]) => [k, t.clone()]));
    return { step: this.t, m: copy(this.m), v: copy(this.v) };
  }

  /** Restores a saved state; shapes must match the variables. Takes ownership of the given tensors. */
  setState(state: AdamWState): void {
    for (const [name, p] of this.vars) {
      for (const [which, src, dst] of [['m', state.m, this.m], ['v', state.v, this.v]] as const) {
        const t = src.get(name);
        if (!t) throw new Error(`AdamW.setState: no ${which} moment for "${name}"`);
        if (!tf.util.arraysEqual(t.shape, p.shape)) {
          throw new Error(`AdamW.setState: ${which} moment of "${name}" has shape [${t.shape}], variable has [${p.shape}]`);
        }
        dst.get(name)!.dispose();
        dst.set(name, t);
      }
    }
    this.t = state.step;
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}
