/**
 * Resumable training checkpoints: the trainables, both AdamW moments and the step, in one safetensors file
 * written atomically (temp file + rename, io/safetensors). No RNG state is needed: the trainer draws every
 * random number from streams forked off (seed, step, item), so the step number is the RNG state.
 * The config is stored too: resuming with different hyper-parameters would not replay the same run.
 */
import * as fs from 'fs';
import { HostTensor } from '../io/host-tensor';
import { readSafetensors, writeSafetensors } from '../io/safetensors';
import { DetexConfig } from './config';
import { DetexTrainer } from './trainer';

const FORMAT = 'detex-checkpoint/1';

/** Config fields that do not change the numbers of a run (so they may differ on resume). */
const NEUTRAL: ReadonlyArray<keyof DetexConfig> = ['steps', 'checkpointEvery', 'previewEvery', 'microBatch'];

/** What a resumed run must match: the config without its NEUTRAL fields. */
export function runKey(c: DetexConfig): string {
  const o: Record<string, unknown> = { ...c };
  for (const k of NEUTRAL) delete o[k];
  // configs from before initCandidates existed have no such key; an empty list (initWord used) matches them
  if (Array.isArray(o.initCandidates) && o.initCandidates.length === 0) delete o.initCandidates;
  return JSON.stringify(o, Object.keys(o).sort());
}

export function saveCheckpoint(path: string, trainer: DetexTrainer): void {
  const snap = trainer.snapshot();
  const tensors = new Map<string, HostTensor>();
  for (const [k, h] of snap.values) tensors.set(`value/${k}`, h);
  for (const [k, h] of snap.m) tensors.set(`adam_m/${k}`, h);
  for (const [k, h] of snap.v) tensors.set(`adam_v/${k}`, h);
  writeSafetensors(path, tensors, {
    format: FORMAT,
    step: String(snap.step),
    config: JSON.stringify(trainer.inputs.config),
    run: runKey(trainer.inputs.config),
  });
}

/** Restores a checkpoint into a trainer built with the same data and config. Returns the step reached. */
export function loadCheckpoint(path: string, trainer: DetexTrainer): number {
  if (!fs.existsSync(path)) throw new Error(`checkpoint not found: ${path}`);
  const { tensors, metadata } = readSafetensors(path);
  if (metadata.format !== FORMAT) throw new Error(`${path} is not a DETEX checkpoint (format ${JSON.stringify(metadata.format)})`);
  if (metadata.run !== runKey(trainer.inputs.config)) {
    throw new Error(`checkpoint ${path} was made with other hyper-parameters; resuming would not reproduce the run (start over or use its config: ${metadata.config})`);
  }
  const pick = (prefix: string) => new Map([...tensors].filter(([k]) => k.startsWith(prefix)).map(([k, h]) => [k.slice(prefix.length), h]));
  const step = Number(metadata.step);
  if (!Number.isInteger(step) || step < 0) throw new Error(`checkpoint ${path}: bad step ${metadata.step}`);
  trainer.restore({ step, values: pick('value/'), m: pick('adam_m/'), v: pick('adam_v/') });
  return step;
}
