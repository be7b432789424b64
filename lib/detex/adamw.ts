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
 */
import * as tf from '@tensorflow/tfjs-core';
import { AdamWOptions } from './config';

export interface AdamWState {
  /** steps taken so far (t of the last update) */
  step: number;
  /** first and second moments by variable name, in the variable's (tfjs) layout */
  m: Map<string, tf.Tensor>;
  v: Map<string, tf.Tensor>;
}

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

  /** One update with these gradients (by variable name; a variable without a gradient is left alone). */
  apply(grads: ReadonlyMap<string, tf.Tensor> | Record<string, tf.Tensor>, lr: number): void {
    const g = grads instanceof Map ? grads : new Map(Object.entries(grads));
    for (const name of g.keys()) {
      if (!this.vars.has(name)) throw new Error(`AdamW: gradient for "${name}", which is not a trained variable`);
    }
    this.t += 1;
    const { beta1, beta2, eps, weightDecay } = this.opts;
    const bc1 = 1 - Math.pow(beta1, this.t);
    const bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, this.t));
    const stepSize = lr / bc1;
    for (const [name, p] of this.vars) {
      const grad = g.get(name);
      if (!grad) continue;
      const [m, v, next] = tf.tidy(() => {
        const decayed = weightDecay !== 0 ? tf.mul(p, 1 - lr * weightDecay) : p;
        const m1 = tf.add(tf.mul(this.m.get(name)!, beta1), tf.mul(grad, 1 - beta1));
        const v1 = tf.add(tf.mul(this.v.get(name)!, beta2), tf.mul(tf.square(grad), 1 - beta2));
        const denom = tf.add(tf.div(tf.sqrt(v1), bc2Sqrt), eps);
        return [m1, v1, tf.sub(decayed, tf.mul(tf.div(m1, denom), stepSize))];
      });
      p.assign(next);
      next.dispose();
      this.m.get(name)!.dispose();
      this.v.get(name)!.dispose();
      this.m.set(name, m);
      this.v.set(name, v);
    }
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
