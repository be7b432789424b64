/** Where the pretraining tests find detex-mini, the built pretraining scripts, and what a run logged. */
import * as fs from 'fs';
import * as path from 'path';
import { repoPath } from './fixtures';

/** The shipped model folder, which the pretraining scripts read their other components from. */
export const DETEX_MINI = repoPath('models', 'detex-mini');

/** A built script under dist/scripts/pretrain, run as a child process the way TRAINING.md runs it. */
export function pretrainScript(name: string): string {
  return repoPath('dist', 'scripts', 'pretrain', name);
}

/** The per-step records a pretraining run appended to `cache/log.jsonl`. */
export function readRunLog(cache: string): Record<string, number>[] {
  return fs.readFileSync(path.join(cache, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
}
