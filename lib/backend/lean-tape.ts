/**
 * Saving a kernel's inputs/outputs for its gradient without an Identity kernel per tensor (cpu backend).
 *
 * Why: while a gradient tape records, tfjs-core's engine keeps every tensor a gradient needs through
 * `saveTensorsForBackwardMode`, which calls `engine.clone()` — a full `runKernel(Identity)` dispatch plus two tape
 * nodes per saved tensor. On a small model most of a training step is such dispatch: a DETEX step of detex-tiny
 * runs ~1 500 of these Identity calls in ~3 300 kernel calls. On the cpu backend, Identity only adds a reference to
 * the same data (`backend.incRef`) and wraps it in a new tensor; this does exactly that, without the dispatch and
 * without the tape nodes (a saved tensor feeds no forward op, so backprop prunes those nodes anyway).
 * Accounting is the same as with clone(): one more tracked tensor and one more backend reference, released when
 * backprop disposes the saved tensors.
 *
 * tfjs-core internals are pinned by the package's exact version (4.22.0); if they are not as expected, nothing is
 * patched. DETEX_LEAN_TAPE=0 turns it off.
 */
import * as tf from '@tensorflow/tfjs-core';

interface EngineInternals {
  backendName: string;
  backend: { incRef?(dataId: object): void };
  state: { tensorInfo: WeakMap<object, { backend: unknown }> };
  keep<T extends tf.Tensor>(t: T): T;
  makeTensorFromTensorInfo(info: { dataId: object; shape: number[]; dtype: tf.DataType }, backend?: unknown): tf.Tensor;
  saveTensorsForBackwardMode(tensors: tf.Tensor[]): tf.Tensor[];
  /** the engine's own method, kept to fall back to and to restore */
  __detexOriginalSave?: (tensors: tf.Tensor[]) => tf.Tensor[];
}

/** Installs the lean save on tfjs' engine (unless DETEX_LEAN_TAPE=0); returns whether it is active. */
export function installLeanTapeSaves(): boolean {
  return process.env.DETEX_LEAN_TAPE === '0' ? false : setLeanTapeSaves(true);
}

/** Switches the lean save on or off (tests compare both); returns whether it is now active. */
export function setLeanTapeSaves(enabled: boolean): boolean {
  const engine = tf.engine() as unknown as EngineInternals;
  const original = engine.__detexOriginalSave ?? engine.saveTensorsForBackwardMode;
  if (!enabled) {
    engine.saveTensorsForBackwardMode = original;
    return false;
  }
  if (typeof original !== 'function' || typeof engine.makeTensorFromTensorInfo !== 'function' || !(engine.state?.tensorInfo instanceof WeakMap)) return false;
  engine.__detexOriginalSave = original;
  engine.saveTensorsForBackwardMode = function (this: EngineInternals, tensors: tf.Tensor[]): tf.Tensor[] {
    const backend = this.backend;
    const lean = this.backendName === 'cpu' && typeof backend.incRef === 'function' &&
      tensors.every((t) => this.state.tensorInfo.get(t.dataId)?.backend === backend && t.dtype !== 'string' && t.dtype !== 'complex64');
    if (!lean) return original.call(this, tensors);
    return tensors.map((t) => {
      const saved = this.makeTensorFromTensorInfo({ dataId: t.dataId, shape: t.shape, dtype: t.dtype }, backend);
      backend.incRef!(t.dataId);
      return this.keep(saved);
    });
  };
  return true;
}
