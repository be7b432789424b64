/**
 * One-file resumable pretraining checkpoint: the trained variables (tfjs layout, F32, so a resume is
 * bit-exact), AdamW's first/second moments and its step, plus metadata. A single atomic safetensors write
 * means a kill at any moment leaves either the previous or the new checkpoint, never a mix.
 *
 * Keys: `p/<name>`, `m/<name>`, `v/<name>`, and `e/<name>` for a run that keeps a weight average (lib/pretrain/ema).
 * Metadata: `step`, `fingerprint` (names and shapes of the trained variables: resuming into a differently sized
 * model fails loudly), `emaUpdates` with an average, plus caller extras.
 */
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs-core';
import { fromTfSync, toTf } from '../io/host-tensor';
import { SafetensorsReader, WritableTensor, writeSafetensors } from '../io/safetensors';
import { AdamW } from '../detex/adamw';
import { WeightEma } from './ema';

export function fingerprint(vars: ReadonlyMap<string, tf.Variable>): string {
  return [...vars].map(([n, v]) => `${n}:${v.shape.join('x')}`).join(';');
}

export function saveCheckpoint(
  file: string,
  vars: ReadonlyMap<string, tf.Variable>,
  opt: AdamW,
  extra: Record<string, string> = {},
  ema?: WeightEma,
): void {
  const state = opt.getState();
  try {
    const tensors = new Map<string, WritableTensor>();
    for (const [name, v] of vars) {
      tensors.set(`p/${name}`, fromTfSync(v));
      tensors.set(`m/${name}`, fromTfSync(state.m.get(name)!));
      tensors.set(`v/${name}`, fromTfSync(state.v.get(name)!));
      if (ema) tensors.set(`e/${name}`, fromTfSync(ema.weights().get(name)!));
    }
    const emaMeta: Record<string, string> = ema ? { emaUpdates: String(ema.updates) } : {};
    writeSafetensors(file, tensors, { ...extra, ...emaMeta, step: String(state.step), fingerprint: fingerprint(vars) });
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

/**
 * Restores a saved weight average into `ema`; false when the checkpoint has none (the average then starts
 * from the weights as restored).
 */
export function loadEmaState(file: string, ema: WeightEma): boolean {
  const r = SafetensorsReader.open(file);
  try {
    const names = [...ema.weights().keys()];
    if (r.metadata.emaUpdates === undefined || !names.every((n) => r.has(`e/${n}`))) return false;
    ema.setState(new Map(names.map((n) => [n, toTf(r.read(`e/${n}`))])), Number(r.metadata.emaUpdates));
    return true;
  } finally {
    r.close();
  }
}

export function checkpointExists(file: string): boolean {
  return fs.existsSync(file);
}
