/**
 * train: images + masks + class word → a concept file, with DetexTrainer on the session's models. A checkpoint
 * (`<concept>.ckpt.safetensors`, next to the concept) is written every config.checkpointEvery steps and on
 * cancel; `resume` continues from it. Class images for L_pr are generated once and cached next to the concept
 * (`.detex-class-images/`). The trainer restores the shared UNet's K/V weights when it is done.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { DetexConfig, DetexConfigInput, resolveDetexConfig } from '../detex/config';
import { DetexTrainer } from '../detex/trainer';
import { readModelTrainingDefaults } from '../detex/model-defaults';
import { loadCheckpoint, saveCheckpoint } from '../detex/checkpoint';
import { baseModelIdentity, conceptFromTrainer, saveConcept } from '../detex/concept';
import { classImages, classImagesFromFolder } from '../detex/class-images';
import { batchSubstitutions, composePrompt } from '../detex/composer';
import { sample as runSample } from '../pipelines/sample';
import { tensorToImage } from '../io/image';
import { DetexSession } from './session';
import { Hooks, Image, Mask, StepProgress, cancelledError } from './types';

export interface TrainJob {
  /** RGB uint8 [H, W, 3] each */
  images: Image[];
  /** uint8 [H, W] each, 1 = subject */
  masks: Mask[];
  className: string;
  /** where the concept goes (a `.safetensors` file) */
  conceptPath: string;
  steps?: number;
  seed?: number;
  /** a preview image (a short DDIM run of "a [V] {class}") every this many steps; 0 = none */
  previewEvery?: number;
  /** continue from the checkpoint next to the concept, if there is one */
  resume?: boolean;
  /** DDIM steps per generated class image (default 50, the spec's); part of the class-image cache key */
  classImageSteps?: number;
  /** a folder of class pictures to use instead of generating them (λ_pr > 0) */
  classImagesDir?: string;
  /** any other DetexConfig field (batchSize, learningRate, preset, numClassImages, …) */
  options?: Partial<DetexConfigInput>;
}

export interface TrainOutput {
  conceptPath: string;
  checkpointPath: string;
  /** steps done in total (including those before a resume) */
  steps: number;
  resumedAt?: number;
  loss?: number;
  /** the word [V] was initialised from (config.initWord, or the pick from config.initCandidates) */
  initWord: string;
}

/**
 * The facade's masks are 0/1 (uint8, 1 = subject); lib/detex/data reads uint8 masks as 0..255. Masks whose values
 * exceed 1 are taken as 0..255 already. → float32 [H, W] in [0, 1].
 */
export function unitMask(m: Mask): Mask {
  let max = 0;
  for (let i = 0; i < m.data.length; i++) if ((m.data[i] as number) > max) max = m.data[i] as number;
  const scale = m.dtype === 'uint8' && max > 1 ? 1 / 255 : 1;
  return { dtype: 'float32', shape: m.shape.slice(0, 2), data: Float32Array.from(m.data, (v) => (v as number) * scale) };
}

export function checkpointPathFor(conceptPath: string): string {
  return conceptPath.replace(/(\.safetensors)?$/, '.ckpt.safetensors');
}

const PREVIEW_STEPS = 10;

/** A short DDIM run of "a [V] {class}" with the trainer's current weights (its K/V are live in the UNet). */
async function preview(trainer: DetexTrainer, seed: number): Promise<Image> {
  const { unet, vae, scheduler, tokenizer, textEncoder } = trainer.models;
  const cfg = trainer.inputs.config;
  const vocab = { tokens: trainer.tokens, classWord: cfg.classWord, attributeWord: cfg.attributeWord, vectors: new Map([[trainer.tokens.subject, trainer.subjectEmbedding()]]) };
  const p = composePrompt('a {{V}} {{class}}', tokenizer, vocab);
  const subs = batchSubstitutions([p]);
  const cond = textEncoder.encode([p.inputIds], subs);
  subs.forEach((s) => s.vector.dispose());
  const neg = textEncoder.encode(tokenizer.call(['']).inputIds, []);
  try {
    const r = await runSample({ unet, vae, scheduler, promptEmbeds: cond, negativeEmbeds: neg, guidanceScale: 6, steps: PREVIEW_STEPS, seed, width: trainer.resolution, height: trainer.resolution });
    const img = tensorToImage(r.images!);
    tf.dispose([r.latents, r.images!]);
    return img;
  } finally {
    tf.dispose([cond, neg]);
  }
}

/** The DETEX config a job trains with on this session's model: paper < preset < the model's detex_config.json < the job. */
export function trainingConfig(s: DetexSession, job: Pick<TrainJob, 'className' | 'steps' | 'seed' | 'previewEvery' | 'options'>): DetexConfig {
  const modelDefaults = readModelTrainingDefaults(s.folder);
  // a job that names its initialiser word means that word, not the model's candidate list
  const ownWord = job.options?.initWord !== undefined && job.options.initCandidates === undefined ? { initCandidates: [] } : {};
  return resolveDetexConfig({
    ...modelDefaults,
    ...job.options,
    ...ownWord,
    classWord: job.className,
    steps: job.steps ?? job.options?.steps ?? modelDefaults.steps,
    seed: job.seed ?? job.options?.seed,
    previewEvery: job.previewEvery ?? job.options?.previewEvery,
  });
}

export async function train(s: DetexSession, job: TrainJob, hooks: Hooks<StepProgress> = {}): Promise<TrainOutput> {
  if (job.images.length !== job.masks.length) throw new Error(`train: ${job.images.length} images but ${job.masks.length} masks`);
  const config = trainingConfig(s, job);
  const [sd, imageEncoder] = await Promise.all([s.sd(), config.attributes === 'mappers' ? s.imageEncoder() : Promise.resolve(undefined)]);
  const models = { ...sd, imageEncoder };
  const ckpt = checkpointPathFor(job.conceptPath);
  fs.mkdirSync(path.dirname(job.conceptPath), { recursive: true });
  return s.exclusive(async () => {
    const t0 = Date.now();
    let cls: tf.Tensor4D | undefined;
    let trainer: DetexTrainer | undefined;
    try {
      if (config.lambdaPr > 0) {
        const resolution = config.resolution || (sd.unet.config.raw.sample_size as number) * sd.vae.scaleFactor;
        cls = job.classImagesDir
          ? await classImagesFromFolder(job.classImagesDir, { resolution, count: config.numClassImages, warn: s.warn })
          : await classImages(sd, {
            classWord: config.classWord, count: config.numClassImages, resolution, modelId: baseModelIdentity(sd.unet, sd.textEncoder),
            cacheDir: path.join(path.dirname(job.conceptPath), '.detex-class-images'), steps: job.classImageSteps,
            signal: hooks.signal, warn: s.warn,
            onProgress: (done, total) => hooks.onProgress?.({ phase: 'class-images', step: done, total, elapsedMs: Date.now() - t0 }),
          });
      }
      if (hooks.signal?.aborted) throw cancelledError('DETEX training');
      trainer = new DetexTrainer(models, { config, items: job.images.map((image, i) => ({ image, mask: unitMask(job.masks[i]) })), classImages: cls, warn: s.warn });
      const t = trainer;
      let resumedAt: number | undefined;
      if (job.resume && fs.existsSync(ckpt)) resumedAt = loadCheckpoint(ckpt, t);
      const r = await t.run({
        signal: hooks.signal,
        onProgress: (p) => hooks.onProgress?.({
          phase: 'train', step: p.step, total: p.totalSteps, loss: p.total,
          losses: { total: p.total, ldm: p.ldm, pr: p.pr, ca: p.ca }, elapsedMs: p.elapsedMs, etaMs: p.etaMs,
        }),
        onCheckpoint: () => saveCheckpoint(ckpt, t),
        onPreview: async (step) => hooks.onProgress?.({ phase: 'preview', step, total: config.steps, preview: await preview(t, config.seed) }),
      });
      if (r.cancelled) {
        saveCheckpoint(ckpt, t);
        throw cancelledError(`DETEX training (at step ${r.step}/${config.steps}; resume continues from ${ckpt})`);
      }
      saveConcept(job.conceptPath, conceptFromTrainer(t));
      return { conceptPath: job.conceptPath, checkpointPath: ckpt, steps: r.step, resumedAt, loss: r.last?.total, initWord: t.initWordChoice?.word ?? config.initWord };
    } finally {
      trainer?.dispose();
      cls?.dispose();
    }
  });
}
