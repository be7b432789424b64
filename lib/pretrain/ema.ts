/**
 * An exponential moving average of the trained weights, as diffusion pretraining keeps one (diffusers'
 * EMAModel): samples from averaged weights are steadier than from the last noisy update. The decay warms up
 * as min(decay, (1 + n) / (10 + n)) over the n updates since the average started, so an average started late
 * (e.g. from a checkpoint that had none) is not dominated by its starting point.
 */
import * as tf from '@tensorflow/tfjs-core';

export class WeightEma {
  private readonly shadow = new Map<string, tf.Tensor>();
  /** updates since the average started */
  updates = 0;

  constructor(
    private readonly vars: ReadonlyMap<string, tf.Variable>,
    readonly decay: number,
  ) {
    if (!(decay > 0 && decay < 1)) throw new Error(`EMA decay must be in (0, 1), got ${decay}`);
    for (const [name, v] of vars) this.shadow.set(name, tf.keep(v.clone()));
  }

  /** The decay used for the next update. */
  currentDecay(): number {
    return Math.min(this.decay, (1 + this.updates) / (10 + this.updates));
  }

  update(): void {
    const d = this.currentDecay();
    for (const [name, v] of this.vars) {
      const old = this.shadow.get(name)!;
      this.shadow.set(name, tf.tidy(() => tf.add(tf.mul(old, d), tf.mul(v, 1 - d))));
      old.dispose();
    }
    this.updates++;
  }

  /** The averaged weights by name (owned by this object). */
  weights(): ReadonlyMap<string, tf.Tensor> {
    return this.shadow;
  }

  /** Restores a saved average (takes ownership of the tensors). */
  setState(weights: Map<string, tf.Tensor>, updates: number): void {
    for (const [name, t] of weights) {
      const old = this.shadow.get(name);
      if (!old) throw new Error(`EMA state has an unknown variable "${name}"`);
      if (!tf.util.arraysEqual(old.shape, t.shape)) throw new Error(`EMA state for "${name}" has shape [${t.shape}], expected [${old.shape}]`);
      old.dispose();
      this.shadow.set(name, t);
    }
    this.updates = updates;
  }

  /** Runs `fn` with the averaged weights in the variables, then puts the trained ones back. */
  async withAveragedWeights<T>(fn: () => T | Promise<T>): Promise<T> {
    const saved = new Map<string, tf.Tensor>();
    for (const [name, v] of this.vars) {
      saved.set(name, tf.keep(v.clone()));
      v.assign(this.shadow.get(name)!);
    }
    try {
      return await fn();
    } finally {
      for (const [name, v] of this.vars) v.assign(saved.get(name)!);
      tf.dispose([...saved.values()]);
    }
  }

  dispose(): void {
    tf.dispose([...this.shadow.values()]);
    this.shadow.clear();
  }
}
