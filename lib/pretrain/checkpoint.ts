/**
 * One-file resumable pretraining checkpoint: the trained variables (tfjs layout, F32, so a resume is
 * bit-exact), AdamW's first/second moments and its step, plus metadata. A single atomic safetensors write
 * means a kill at any moment leaves either the previous or the new checkpoint, never a mix.
 *
 * Keys: `p/<name>`, `m/<name>`, `v/<name>`. Metadata: `step`, `fingerprint` (names and shapes of the
 * trained variables: resuming into a differently sized model fails loudly), plus caller extras.
 */
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs-core';
import { fromTfSync, toTf } from '../io/host-tensor';
import { SafetensorsReader, WritableTensor, writeSafetensors } from '../io/safetensors';
import { AdamW } from '../detex/adamw';

export function fingerprint(vars: ReadonlyMap<string, tf.Variable>): string {
  return [...vars].map(([n, v]) => `${n}:${v.shape.join('x')}`).join(';');
}

export function saveCheckpoint(
  file: string,
  vars: ReadonlyMap<string, tf.Variable>,
  opt: AdamW,
  extra: Record<string, string> = {},
): void {
  const state = opt.getState();
  try {
    const tensors = new Map<string, WritableTensor>();
    for (const [name, v] of vars) {
      tensors.set(`p/${name}`, fromTfSync(v));
      tensors.set(`m/${name}`, fromTfSync(state.m.get(name)!));
      tensors.set(`v/${name}`, fromTfSync(state.v.get(name)!));
    }
    writeSafetensors(file, tensors, { ...extra, step: String(state.step), fingerprint: fingerprint(vars) });
  } finally {
    for (const t of [...state.m.values(), ...state.v.values()]) t.dispose();
  }
}

/** Restores variables and optimizer from `file`; returns the step it was taken at and its metadata. */
/** Restores the weights, and the optimizer's moments when `opt` is given (evaluation needs only the weights). */
export function loadCheckpoint(file: string, vars: ReadonlyMap<string, tf.Variable>, opt?: AdamW): { step: number; metadata: Record<string, string> } {
  const r = SafetensorsReader.open(file);
  try {
    const meta = r.metadata;
    if (meta.fingerprint !== fingerprint(vars)) {
      throw new Error(`checkpoint ${file} was taken with different trained variables (model config changed?); move it away to start afresh`);
    }
    const m = new Map<string, tf.Tensor>();
    const v = new Map<string, tf.Tensor>();
    for (const [name, variable] of vars) {
      const p = toTf(r.read(`p/${name}`));
      variable.assign(p);
      p.dispose();
      if (!opt) continue;
      m.set(name, toTf(r.read(`m/${name}`)));
      v.set(name, toTf(r.read(`v/${name}`)));
    }
    const step = Number(meta.step);
    opt?.setState({ step, m, v });
    return { step, metadata: meta };
  } finally {
    r.close();
  }
}

export function checkpointExists(file: string): boolean {
  return fs.existsSync(file);
}
