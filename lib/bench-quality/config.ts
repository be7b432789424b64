/**
 * The quality benchmark's settings: the methods (DETEX, the Custom Diffusion baseline and the paper's three
 * ablations, all the same trainer with a preset), the quick and full sizes, and the default model folder
 * (detex-mini when it has landed, else detex-tiny — whose numbers mean nothing).
 */
import * as fs from 'fs';
import * as path from 'path';
import { DetexPreset } from '../detex/config';
import { HELD_OUT } from '../world';

export const METHODS: readonly DetexPreset[] = ['detex', 'custom-diffusion', 'no-mappers', 'no-attention-loss', 'no-joint-training'];

export const METHOD_LABELS: Readonly<Record<DetexPreset, string>> = {
  detex: 'DETEX (ours)',
  'custom-diffusion': 'Custom Diffusion',
  'no-mappers': 'w/o mappers',
  'no-attention-loss': 'w/o attention loss',
  'no-joint-training': 'w/o joint training',
};

export interface BenchSettings {
  /** world subject ids (held-out) */
  subjects: string[];
  methods: DetexPreset[];
  /** training seeds; every (method, subject, seed) is one cell */
  seeds: number[];
  /** training photos per subject (paper: 4) */
  photos: number;
  /** seed of the subject photos (the same data for every method and training seed) */
  dataSeed: number;
  trainSteps: number;
  batchSize: number;
  learningRate: number;
  numClassImages: number;
  classImageSteps: number;
  /** editing prompts: new backgrounds, plus one recolouring and one pose/view prompt when set */
  backgroundPrompts: number;
  colourPrompt: boolean;
  posePrompt: boolean;
  imagesPerPrompt: number;
  sampleSteps: number;
  guidance: number;
  /** the attn2 resolution of the attention-map figure (latent/attentionDownscale) */
  attentionDownscale: number;
}

/**
 * Sizes from measurements on a detex-mini-shaped model (the landed VAE/CLIP, a random UNet [32, 64, 64] and SAM; WASM,
 * CPU time): a training step ≈ 0.7 s at batch 1 (+1 class image), 1.3 s at batch 2, 2.6 s at batch 4; one DDIM step
 * of one guided 64 px image ≈ 0.09 s. Per cell, quick ≈ 28 s training + 11 s sampling + scoring; full ≈ 70 s + 25 s.
 * quick: 2 subjects × 5 methods ≈ 8 min; full: 6 × 5 ≈ 55 min, on 2 idle cores.
 */
export const QUICK: Readonly<Omit<BenchSettings, 'subjects' | 'methods'>> & { subjectCount: number } = {
  subjectCount: 2, seeds: [0], photos: 4, dataSeed: 0, trainSteps: 40, batchSize: 1, learningRate: 1e-4,
  numClassImages: 4, classImageSteps: 20, backgroundPrompts: 1, colourPrompt: true, posePrompt: true,
  imagesPerPrompt: 2, sampleSteps: 20, guidance: 6, attentionDownscale: 2,
};

export const FULL: Readonly<Omit<BenchSettings, 'subjects' | 'methods'>> & { subjectCount: number } = {
  subjectCount: 6, seeds: [0], photos: 4, dataSeed: 0, trainSteps: 100, batchSize: 1, learningRate: 1e-4,
  numClassImages: 8, classImageSteps: 25, backgroundPrompts: 3, colourPrompt: true, posePrompt: true,
  imagesPerPrompt: 2, sampleSteps: 25, guidance: 6, attentionDownscale: 2,
};

export function defaultSettings(quick: boolean, over: Partial<BenchSettings> = {}): BenchSettings {
  const { subjectCount, ...base } = quick ? QUICK : FULL;
  const s: BenchSettings = { ...base, seeds: [...base.seeds], subjects: HELD_OUT.slice(0, subjectCount), methods: [...METHODS] };
  for (const [k, v] of Object.entries(over)) if (v !== undefined) (s as unknown as Record<string, unknown>)[k] = v;
  validateSettings(s);
  return s;
}

export function validateSettings(s: BenchSettings): void {
  if (!s.subjects.length) throw new Error('bench quality: no subjects');
  for (const id of s.subjects) if (!HELD_OUT.includes(id)) throw new Error(`bench quality: "${id}" is not a held-out world subject (known: ${HELD_OUT.join(', ')})`);
  if (!s.methods.length) throw new Error('bench quality: no methods');
  for (const m of s.methods) if (!METHODS.includes(m)) throw new Error(`bench quality: unknown method "${m}" (known: ${METHODS.join(', ')})`);
  if (!s.seeds.length || !s.seeds.every((x) => Number.isInteger(x) && x >= 0)) throw new Error(`bench quality: seeds must be integers ≥ 0, got ${s.seeds}`);
  const pos = (k: keyof BenchSettings) => {
    const v = s[k] as number;
    if (!Number.isInteger(v) || v < 1) throw new Error(`bench quality: ${k} must be an integer ≥ 1, got ${v}`);
  };
  (['photos', 'trainSteps', 'batchSize', 'numClassImages', 'classImageSteps', 'imagesPerPrompt', 'sampleSteps', 'attentionDownscale'] as const).forEach(pos);
  if (s.backgroundPrompts < 0 || s.backgroundPrompts + (s.colourPrompt ? 1 : 0) + (s.posePrompt ? 1 : 0) < 1) throw new Error('bench quality: no editing prompts');
}

/** The package root (where models/ lives), from lib/ sources or dist/. */
function packageRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'models'))) return dir;
    dir = path.dirname(dir);
  }
  return process.cwd();
}

export interface ModelChoice {
  folder: string;
  /** false for detex-tiny (random weights): the numbers mean nothing */
  meaningful: boolean;
  note: string;
}

/** detex-mini when `models/detex-mini/model_index.json` exists, else detex-tiny with a loud note. */
export function defaultBenchModel(root = packageRoot()): ModelChoice {
  const mini = path.join(root, 'models', 'detex-mini');
  if (fs.existsSync(path.join(mini, 'model_index.json'))) return { folder: mini, meaningful: true, note: 'detex-mini (world-pretrained)' };
  return {
    folder: path.join(root, 'models', 'detex-tiny'),
    meaningful: false,
    note: 'WARNING: models/detex-mini has not landed (no model_index.json), so this ran on detex-tiny — RANDOM WEIGHTS, the images are noise and THE NUMBERS MEAN NOTHING. Use it to check the pipeline only.',
  };
}

/** A folder given by the user: detex-tiny (random weights) is flagged. */
export function describeModel(folder: string): ModelChoice {
  const base = path.basename(path.resolve(folder));
  if (base === 'detex-tiny') return { folder, meaningful: false, note: 'WARNING: detex-tiny — RANDOM WEIGHTS, the images are noise and THE NUMBERS MEAN NOTHING.' };
  return { folder, meaningful: true, note: base };
}
