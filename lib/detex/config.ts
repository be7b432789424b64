/**
 * DETEX hyper-parameters (detex-spec.md), with the paper's defaults and one validator.
 *
 * Every component can be switched off on its own, so the baselines and ablations of the paper run from the
 * same trainer:
 *   - `detex`              the full method (paper defaults)
 *   - `custom-diffusion`   no [P]/[B] tokens, no mappers, no CA loss, γ = 0 (Kumari et al. 2023, crossattn_kv)
 *   - `no-mappers`         "w/o mappers": free per-image [P_i]/[B_i] embeddings instead of M^P/M^B
 *   - `no-attention-loss`  "w/o attention loss": λ_CA = 0 (maps are not even captured)
 *   - `no-joint-training`  "w/o joint training": γ = 0
 */

export type CANorm = 'mse' | 'max-normalised';
export type AttributeSource = 'mappers' | 'free' | 'none';
export type DetexPreset = 'detex' | 'custom-diffusion' | 'no-mappers' | 'no-attention-loss' | 'no-joint-training';
export type KVStorage = 'weights' | 'delta';
/** 'word': every mapper output rescaled to the norm of the [V] initialiser's embedding row; 'free': the plain MLP */
export type MapperOutputScale = 'word' | 'free';

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export interface DetexConfig {
  /** the subject's class word, e.g. "dog" */
  classWord: string;
  /** "pose" for animals/people, "view" for objects (spec: open; default from the class word) */
  attributeWord: string;
  /** [V]'s token string (Custom Diffusion's modifier token) */
  subjectToken: string;
  /**
   * word whose embedding row initialises [V] (spec: open). Custom Diffusion's default list is "ktn+pll+ucd", but
   * "ktn" is two tokens (k tn</w>) in the CLIP vocabulary and the row must be one token, so the default is "pll".
   */
  initWord: string;
  /**
   * when not empty, [V]'s initialiser is whichever of these words the base model finds best describes the
   * photos (init-word.ts), and initWord is not used. Empty: initWord, as in the paper.
   */
  initCandidates: string[];
  /** where [P_i]/[B_i] come from: the attribute mappers (DETEX), free per-image vectors (ablation), or nowhere */
  attributes: AttributeSource;
  /** mapper activation between the 3 linear layers: an `nn/activations` name (gelu, leaky_relu, silu, …) */
  mapperActivation: string;
  /** mapper hidden width; 0 = the text embedding width (the paper's 768 → 768 → 768 → 768) */
  mapperHidden: number;
  /** spec: open (the paper does not say how the mapper output is scaled); see lib/detex/mappers.ts for why 'word' */
  mapperOutput: MapperOutputScale;

  steps: number;
  /** instance images per step (and as many class images with prior preservation) */
  batchSize: number;
  /** items per forward/backward pass; < batchSize accumulates gradients (same result, less memory) */
  microBatch: number;
  learningRate: number;
  /**
   * lr of the new embedding rows ([V], and the free [P_i]/[B_i] of "no-mappers"); 0 = learningRate. Adam moves a
   * parameter by ~lr per step whatever its scale, and a word row's entries are ~0.03 while K/V weights sit at
   * much larger values, so one lr cannot both keep K/V near the base model and let [V] travel (textual inversion
   * trains embeddings at 5e-3).
   */
  embeddingLearningRate: number;
  /** lr of the attribute mappers, which train from scratch while K/V only move off the base model; 0 = learningRate */
  mapperLearningRate: number;
  /** diffusers' --scale_lr: lr × batch (× 2 with prior preservation) */
  scaleLr: boolean;
  adam: AdamWOptions;
  /** seeds every random stream (noise, t, γ choices, flips, image order, mapper init) */
  seed: number;

  /** γ: probability of training on the background-filtered image and prompt */
  gamma: number;
  /** blank colour for x·m + blank·(1−m), RGB in [0,1] (spec: open; white) */
  blank: [number, number, number];
  /** λ_pr; 0 disables prior preservation (no class images needed) */
  lambdaPr: number;
  /** λ_CA; 0 disables the attention loss */
  lambdaCA: number;
  /** the CA maps come from the attn2 layers at latent/caDownscale (paper: 32×32 of a 64×64 latent) */
  caDownscale: number;
  caNorm: CANorm;
  /** loss only inside the mask (paper appendix B.1: rejected; off) */
  maskedDiffusionLoss: boolean;
  /** random horizontal flips of training images */
  flip: boolean;
  /** number of class images for prior preservation (paper: 200) */
  numClassImages: number;
  /** image side length; 0 = the model's (unet sample_size × VAE factor) */
  resolution: number;
  /** how the concept file stores the K/V projections */
  kvStorage: KVStorage;
  checkpointEvery: number;
  previewEvery: number;
}

/** Classes for which the attribute word is "pose" (living subjects); anything else gets "view". */
const LIVING = new Set([
  'dog', 'cat', 'puppy', 'kitten', 'person', 'man', 'woman', 'boy', 'girl', 'child', 'baby', 'people', 'animal',
  'bird', 'horse', 'cow', 'sheep', 'rabbit', 'bear', 'monkey', 'teddybear', 'toy', 'figure',
]);

export function defaultAttributeWord(classWord: string): string {
  return LIVING.has(classWord.trim().toLowerCase()) ? 'pose' : 'view';
}

export const DETEX_DEFAULTS: Readonly<Omit<DetexConfig, 'classWord' | 'attributeWord'>> = Object.freeze({
  subjectToken: '<new1>',
  initWord: 'pll',
  initCandidates: [] as string[],
  attributes: 'mappers' as AttributeSource,
  mapperActivation: 'gelu',
  mapperHidden: 0,
  mapperOutput: 'word' as MapperOutputScale,
  steps: 600,
  batchSize: 4,
  microBatch: 4,
  learningRate: 1e-5,
  embeddingLearningRate: 0,
  mapperLearningRate: 0,
  scaleLr: false,
  adam: Object.freeze({ beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-2 }),
  seed: 0,
  gamma: 0.5,
  blank: [1, 1, 1] as [number, number, number],
  lambdaPr: 1.0,
  lambdaCA: 0.01,
  caDownscale: 2,
  caNorm: 'mse' as CANorm,
  maskedDiffusionLoss: false,
  flip: false,
  numClassImages: 200,
  resolution: 0,
  kvStorage: 'weights' as KVStorage,
  checkpointEvery: 100,
  previewEvery: 0,
});

/** What a preset changes relative to the full method. */
export const PRESETS: Readonly<Record<DetexPreset, Partial<DetexConfig>>> = {
  detex: {},
  'custom-diffusion': { attributes: 'none', lambdaCA: 0, gamma: 0 },
  'no-mappers': { attributes: 'free' },
  'no-attention-loss': { lambdaCA: 0 },
  'no-joint-training': { gamma: 0 },
};

export class DetexConfigError extends Error {}

export type DetexConfigInput = Partial<DetexConfig> & { classWord: string; preset?: DetexPreset; adam?: Partial<AdamWOptions> };

/** Fills defaults (then the preset, then the caller's values) and checks every value; throws naming the bad one. */
export function resolveDetexConfig(input: DetexConfigInput): DetexConfig {
  const preset = input.preset ?? 'detex';
  if (!(preset in PRESETS)) throw new DetexConfigError(`unknown preset "${preset}" (known: ${Object.keys(PRESETS).join(', ')})`);
  const { preset: _p, adam, ...rest } = input;
  const cfg: DetexConfig = {
    ...DETEX_DEFAULTS,
    attributeWord: defaultAttributeWord(input.classWord ?? ''),
    ...PRESETS[preset],
    ...stripUndefined(rest),
    adam: { ...DETEX_DEFAULTS.adam, ...stripUndefined(adam ?? {}) },
    blank: [...(rest.blank ?? DETEX_DEFAULTS.blank)] as [number, number, number],
    // copied, so a caller's later edit of its list cannot change a running config (a non-list is left for validate)
    initCandidates: Array.isArray(rest.initCandidates) ? [...rest.initCandidates] : rest.initCandidates ?? [],
  } as DetexConfig;
  // No accumulation unless asked for: the micro-batch follows the batch size.
  if (input.microBatch === undefined) cfg.microBatch = cfg.batchSize;
  validate(cfg);
  return cfg;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function validate(c: DetexConfig): void {
  const bad = (field: string, why: string) => new DetexConfigError(`DETEX config: ${field} ${why}`);
  const word = /^[^\s{}]+( [^\s{}]+)*$/;
  if (typeof c.classWord !== 'string' || !word.test(c.classWord)) throw bad('classWord', `must be a word or words, got ${JSON.stringify(c.classWord)}`);
  if (!word.test(c.attributeWord)) throw bad('attributeWord', `must be a word, got ${JSON.stringify(c.attributeWord)}`);
  if (!/^\S+$/.test(c.subjectToken)) throw bad('subjectToken', `must be one token without spaces, got ${JSON.stringify(c.subjectToken)}`);
  if (!/^\S+$/.test(c.initWord)) throw bad('initWord', `must be one word, got ${JSON.stringify(c.initWord)}`);
  if (!Array.isArray(c.initCandidates) || c.initCandidates.some((w) => typeof w !== 'string' || !/^\S+$/.test(w))) {
    throw bad('initCandidates', `must be a list of single words, got ${JSON.stringify(c.initCandidates)}`);
  }
  if (!['mappers', 'free', 'none'].includes(c.attributes)) throw bad('attributes', `must be mappers, free or none, got ${c.attributes}`);
  const int = (f: keyof DetexConfig, min: number) => {
    const v = c[f] as number;
    if (!Number.isInteger(v) || v < min) throw bad(f, `must be an integer ≥ ${min}, got ${v}`);
  };
  int('steps', 1);
  int('batchSize', 1);
  int('microBatch', 1);
  int('seed', 0);
  int('caDownscale', 1);
  int('numClassImages', 1);
  int('resolution', 0);
  int('mapperHidden', 0);
  int('checkpointEvery', 0);
  int('previewEvery', 0);
  if (c.batchSize % c.microBatch !== 0) throw bad('microBatch', `(${c.microBatch}) must divide batchSize (${c.batchSize})`);
  if ((c.caDownscale & (c.caDownscale - 1)) !== 0) throw bad('caDownscale', `must be a power of 2, got ${c.caDownscale}`);
  const range = (f: string, v: number, lo: number, hi: number) => {
    if (!(typeof v === 'number' && v >= lo && v <= hi)) throw bad(f, `must lie in [${lo}, ${hi}], got ${v}`);
  };
  range('gamma', c.gamma, 0, 1);
  range('learningRate', c.learningRate, 0, 1);
  range('embeddingLearningRate', c.embeddingLearningRate, 0, 1);
  range('mapperLearningRate', c.mapperLearningRate, 0, 1);
  if (!['word', 'free'].includes(c.mapperOutput)) throw bad('mapperOutput', `must be word or free, got ${c.mapperOutput}`);
  range('lambdaPr', c.lambdaPr, 0, 1e6);
  range('lambdaCA', c.lambdaCA, 0, 1e6);
  range('adam.beta1', c.adam.beta1, 0, 0.999999);
  range('adam.beta2', c.adam.beta2, 0, 0.99999999);
  range('adam.eps', c.adam.eps, 0, 1);
  range('adam.weightDecay', c.adam.weightDecay, 0, 1);
  if (c.blank.length !== 3) throw bad('blank', `must be [r, g, b], got [${c.blank}]`);
  c.blank.forEach((v, i) => range(`blank[${i}]`, v, 0, 1));
  if (!['mse', 'max-normalised'].includes(c.caNorm)) throw bad('caNorm', `must be mse or max-normalised, got ${c.caNorm}`);
  if (!['weights', 'delta'].includes(c.kvStorage)) throw bad('kvStorage', `must be weights or delta, got ${c.kvStorage}`);
  if (c.attributes === 'none' && c.lambdaCA > 0) throw bad('lambdaCA', 'needs [P]/[B] tokens: set attributes to mappers or free, or lambdaCA to 0');
  if (c.attributes === 'none' && c.gamma > 0) throw bad('gamma', 'needs [P]/[B] tokens (the filtered prompt drops [B_i]): set attributes or gamma 0');
}

/** The learning rate of each group of trainables actually used (0 = the main rate; the same --scale_lr rule). */
export function effectiveLearningRates(c: DetexConfig): { kv: number; embedding: number; mapper: number } {
  const scale = c.scaleLr ? c.batchSize * (c.lambdaPr > 0 ? 2 : 1) : 1;
  const main = c.learningRate * scale;
  return { kv: main, embedding: c.embeddingLearningRate ? c.embeddingLearningRate * scale : main, mapper: c.mapperLearningRate ? c.mapperLearningRate * scale : main };
}
