/**
 * The flags every scripts/pretrain/*.ts script shares, so all of them resume the same way:
 *   --minutes M   wall-clock budget of this run (stops cleanly with a checkpoint; run again to continue)
 *   --steps N     total planned updates (fixes the lr schedule; keep it the same across resumes)
 *   --cache DIR   checkpoint + log folder (default .detex-cache/pretrain/<name>)
 *   --out DIR     model folder to export into (default models/detex-mini)
 *   --max-steps N stop after N updates in this run (benchmarking)
 *   --warm-start  without a checkpoint, start from the weights exported in --out (fresh optimizer, step 0):
 *                 how training continues on a machine that has the package's weights but not its cache
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import { seededInitializer } from '../nn/init';
import { ParamStore } from '../nn/params';

export interface RunArgs {
  minutes?: number;
  steps?: number;
  maxSteps?: number;
  cache: string;
  out: string;
  /** script-specific flags, as strings */
  rest: Record<string, string | boolean | undefined>;
}

export function parseRunArgs(name: string, root: string, extra: Record<string, { type: 'string' | 'boolean' }> = {}): RunArgs {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string' },
      steps: { type: 'string' },
      'max-steps': { type: 'string' },
      cache: { type: 'string' },
      out: { type: 'string' },
      'from-scratch': { type: 'boolean' },
      'warm-start': { type: 'boolean' },
      ...extra,
    },
  });
  const num = (v: unknown) => (v === undefined ? undefined : Number(v));
  return {
    minutes: num(values.minutes),
    steps: num(values.steps),
    maxSteps: num(values['max-steps']),
    cache: (values.cache as string | undefined) ?? path.join(root, '.detex-cache', 'pretrain', name),
    out: (values.out as string | undefined) ?? path.join(root, 'models', 'detex-mini'),
    rest: values as Record<string, string | boolean | undefined>,
  };
}

/**
 * A run without a checkpoint starts from fresh weights and its first export overwrites `<out>/<folder>`. The
 * checkpoints live in the git-ignored cache, so on a new machine that would silently replace committed, trained
 * weights with random ones: refuse unless --from-scratch is given.
 */
export function refuseToOverwriteTrained(args: RunArgs, checkpointFile: string, folders: string[]): void {
  if (args.rest['from-scratch'] || args.rest['warm-start'] || fs.existsSync(path.join(args.cache, checkpointFile))) return;
  const trained = folders.filter((f) => fs.existsSync(path.join(args.out, f)) && fs.readdirSync(path.join(args.out, f)).some((n) => n.endsWith('.safetensors')));
  if (trained.length) {
    throw new Error(
      `no checkpoint in ${args.cache}, but ${trained.map((f) => path.join(args.out, f)).join(', ')} already hold(s) trained weights: ` +
        'starting over would overwrite them. Restore the checkpoint, pass --warm-start to continue from those weights, ' +
        'or --from-scratch to retrain from random weights.',
    );
  }
}

/**
 * The parameter store a run builds its model against: the exported `weightsFile` under --warm-start when the
 * cache holds no checkpoint yet (a checkpoint, when there is one, overrides the weights anyway), otherwise
 * seeded fresh weights.
 */
export function initialStore(args: RunArgs, checkpointFile: string, weightsFile: string, seed: number): { store: ParamStore; warmFrom?: string } {
  if (args.rest['warm-start'] && !fs.existsSync(path.join(args.cache, checkpointFile))) {
    if (!fs.existsSync(weightsFile)) throw new Error(`--warm-start: no exported weights at ${weightsFile}`);
    return { store: ParamStore.fromSafetensors(weightsFile), warmFrom: weightsFile };
  }
  return { store: ParamStore.initializing(seededInitializer(seed)) };
}

/**
 * `--eval-every N`, checked: evaluations run at checkpoints, so N must be a positive multiple of the checkpoint
 * interval (an `--eval-every 750` with checkpoints every 100 would evaluate only at 1500, 3000, … without a word).
 */
export function evalInterval(name: string, raw: unknown, fallback: number, checkpointEvery: number): number {
  const n = raw === undefined ? fallback : Number(raw);
  if (!(Number.isInteger(n) && n > 0 && n % checkpointEvery === 0)) {
    throw new Error(`pretrain/${name}: --eval-every must be a positive multiple of the checkpoint interval ${checkpointEvery}, got '${String(raw)}'`);
  }
  return n;
}
