/**
 * A base model's own DETEX defaults: `<model>/detex_config.json`, optional — how to train a concept on it and the
 * classifier-free guidance to sample it with. The paper's values
 * (config.ts) are tuned for Stable Diffusion v1.4; a much smaller model such as detex-mini needs other learning
 * rates, and its captions say "pose" for every class. The file lets the model carry what was measured for it, so
 * the nodes, the CLI, the demo and the benchmark all train it well without each knowing about it.
 *
 * Precedence: paper defaults < preset < this file < the caller's options. Only the keys below may appear: the
 * file tunes how a concept is learnt on this model, never which method (preset, λs, γ) is run. `guidance` is
 * used wherever a sample request leaves it open (paper: 6; detex-mini over-saturates colours above ~4).
 */
import * as fs from 'fs';
import * as path from 'path';
import { DetexConfigInput, resolveDetexConfig } from './config';

export const MODEL_DEFAULTS_FILE = 'detex_config.json';

const NUMERIC = ['learningRate', 'embeddingLearningRate', 'mapperLearningRate', 'steps', 'batchSize', 'numClassImages'] as const;
const TEXT = ['attributeWord'] as const;
/** initCandidates: the words this model's captions use for what a subject looks like, for [V]'s initialiser */
const WORD_LISTS = ['initCandidates'] as const;
const SAMPLING = ['guidance'] as const;
type Key = (typeof NUMERIC)[number] | (typeof TEXT)[number] | (typeof WORD_LISTS)[number];
export type ModelTrainingDefaults = Partial<Pick<DetexConfigInput, Key>>;

/** The training keys of the file. Keys starting with "_" are comments (as in diffusers' configs). No file: {}. */
export function readModelTrainingDefaults(folder: string): ModelTrainingDefaults {
  return readModelDefaults(folder).training;
}

/** The file's guidance for sampling this model, if it names one. */
export function modelGuidance(folder: string): number | undefined {
  return readModelDefaults(folder).guidance;
}

/** The paper's classifier-free guidance scale. */
export const PAPER_GUIDANCE = 6;

/** The guidance to sample this model with: the caller's, else the model file's, else the paper's. */
export function samplingGuidance(folder: string, requested?: number): number {
  return requested ?? modelGuidance(folder) ?? PAPER_GUIDANCE;
}

function readModelDefaults(folder: string): { training: ModelTrainingDefaults; guidance?: number } {
  const file = path.join(folder, MODEL_DEFAULTS_FILE);
  if (!fs.existsSync(file)) return { training: {} };
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${file}: must hold a JSON object`);
  const out: Record<string, number | string | string[]> = {};
  let guidance: number | undefined;
  for (const [k, v] of Object.entries(raw)) {
    if (k.startsWith('_')) continue;
    if ((SAMPLING as readonly string[]).includes(k)) {
      if (typeof v !== 'number' || !(v >= 0 && v <= 50)) throw new Error(`${file}: "${k}" must be a number in [0, 50], got ${JSON.stringify(v)}`);
      guidance = v;
      continue;
    }
    if ((NUMERIC as readonly string[]).includes(k)) {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${file}: "${k}" must be a number, got ${JSON.stringify(v)}`);
    } else if ((TEXT as readonly string[]).includes(k)) {
      if (typeof v !== 'string') throw new Error(`${file}: "${k}" must be a string, got ${JSON.stringify(v)}`);
    } else if ((WORD_LISTS as readonly string[]).includes(k)) {
      if (!Array.isArray(v) || v.some((w) => typeof w !== 'string')) throw new Error(`${file}: "${k}" must be a list of words, got ${JSON.stringify(v)}`);
    } else {
      throw new Error(`${file}: unknown key "${k}" (allowed: ${[...NUMERIC, ...TEXT, ...WORD_LISTS, ...SAMPLING].join(', ')})`);
    }
    out[k] = v;
  }
  try {
    resolveDetexConfig({ classWord: 'object', ...out });
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  return { training: out as ModelTrainingDefaults, guidance };
}
