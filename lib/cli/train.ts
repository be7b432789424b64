/** `detex train`: learn a concept from a few images + masks into a concept file. */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { parseArgs } from 'util';
import { initBackend } from '../backend';
import { decodeImage } from '../io/image';
import { DetexConfigInput, DetexPreset, resolveDetexConfig } from '../detex/config';
import { DetexTrainer } from '../detex/trainer';
import { commaList } from './comma-list';
import { TrainingItem } from '../detex/data';
import { loadCheckpoint, saveCheckpoint } from '../detex/checkpoint';
import { baseModelIdentity, conceptFromTrainer, saveConcept } from '../detex/concept';
import { classImages, classImagesFromFolder, classImageCachePath } from '../detex/class-images';
import { loadDetexModels } from '../detex/load-models';
import { resolveModelDir } from '../models/default-model';
import { modelWeightBytes } from '../io/diffusers-folder';

export const usage =
  'train [--model <sd-folder>] --images <folder|a.png,b.png> --masks <folder|a.png,…> --class <word> --out <concept.safetensors> ' +
  '[--image-encoder <clip-vision>] [--preset detex|custom-diffusion|no-mappers|no-attention-loss|no-joint-training] [--steps 600] [--batch 4] ' +
  '[--micro-batch N] [--lr 1e-5] [--seed 0] [--gamma 0.5] [--lambda-pr 1] [--lambda-ca 0.01] [--ca-norm mse|max-normalised] [--attribute pose|view] ' +
  '[--init-word pll | --init-from red,blue,…] ' +
  '[--class-images <folder>|--num-class-images 200 --class-image-steps 50] [--cache <dir>] [--checkpoint <file>] [--checkpoint-every 100] [--resume] [--flip]';

function listImages(spec: string): string[] {
  if (fs.existsSync(spec) && fs.statSync(spec).isDirectory()) {
    return fs.readdirSync(spec).filter((f) => /\.(png|jpe?g|webp)$/i.test(f)).sort().map((f) => path.join(spec, f));
  }
  return spec.split(',').filter(Boolean);
}

export async function trainCommand(argv: string[]): Promise<number> {
  const { values: a } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' }, images: { type: 'string' }, masks: { type: 'string' }, class: { type: 'string' }, out: { type: 'string' },
      'image-encoder': { type: 'string' }, preset: { type: 'string' }, steps: { type: 'string' }, batch: { type: 'string' }, 'micro-batch': { type: 'string' },
      lr: { type: 'string' }, seed: { type: 'string' }, gamma: { type: 'string' }, 'lambda-pr': { type: 'string' }, 'lambda-ca': { type: 'string' },
      'ca-norm': { type: 'string' }, attribute: { type: 'string' }, 'class-images': { type: 'string' }, 'num-class-images': { type: 'string' }, 'class-image-steps': { type: 'string' },
      cache: { type: 'string' }, checkpoint: { type: 'string' }, 'checkpoint-every': { type: 'string' }, resume: { type: 'boolean' }, flip: { type: 'boolean' },
      'init-word': { type: 'string' }, 'init-from': { type: 'string' },
    },
  });
  for (const k of ['images', 'masks', 'class', 'out'] as const) {
    if (!a[k]) {
      console.error(`detex train: --${k} is required\nusage: detex ${usage}`);
      return 2;
    }
  }
  const num = (s: string | undefined) => (s === undefined ? undefined : Number(s));
  const input: DetexConfigInput = {
    classWord: a.class!, preset: a.preset as DetexPreset | undefined, steps: num(a.steps), batchSize: num(a.batch),
    microBatch: num(a['micro-batch']) ?? num(a.batch), learningRate: num(a.lr), seed: num(a.seed), gamma: num(a.gamma),
    lambdaPr: num(a['lambda-pr']), lambdaCA: num(a['lambda-ca']), caNorm: a['ca-norm'] as 'mse' | undefined, attributeWord: a.attribute,
    numClassImages: num(a['num-class-images']), checkpointEvery: num(a['checkpoint-every']), flip: a.flip,
    initWord: a['init-word'], initCandidates: commaList(a['init-from']),
  };
  const config = resolveDetexConfig(input);
  const classImageSteps = num(a['class-image-steps']);
  if (classImageSteps !== undefined && !(Number.isInteger(classImageSteps) && classImageSteps >= 1)) {
    console.error(`detex train: --class-image-steps must be an integer ≥ 1, got ${a['class-image-steps']}`);
    return 2;
  }
  await initBackend({ modelBytes: modelWeightBytes(resolveModelDir(a.model)) });
  const imgs = listImages(a.images!);
  const msks = listImages(a.masks!);
  if (imgs.length !== msks.length) throw new Error(`detex train: ${imgs.length} images but ${msks.length} masks`);
  const items: TrainingItem[] = [];
  for (let i = 0; i < imgs.length; i++) {
    const img = await decodeImage(imgs[i]);
    const m = await decodeImage(msks[i]);
    // a mask file: its alpha if it has one, else its first channel
    const mask = m.alpha ?? { ...m.rgb, shape: [m.height, m.width], data: Uint8Array.from({ length: m.width * m.height }, (_, k) => m.rgb.data[k * 3] as number) };
    items.push({ image: img.rgb, mask });
  }
  const models = await loadDetexModels(resolveModelDir(a.model), a['image-encoder'], (msg) => console.warn(msg));
  let cls: tf.Tensor4D | undefined;
  let trainer: DetexTrainer | undefined;
  const ac = new AbortController();
  const onSig = () => ac.abort();
  process.once('SIGINT', onSig);
  try {
    const resolution = config.resolution || (models.unet.config.raw.sample_size as number) * models.vae.scaleFactor;
    if (config.lambdaPr > 0) {
      if (a['class-images']) {
        cls = await classImagesFromFolder(a['class-images'], { resolution, count: config.numClassImages, warn: (m) => console.warn(m) });
        console.log(`class images: ${cls.shape[0]} from ${a['class-images']}`);
      } else {
        const modelId = baseModelIdentity(models.unet, models.textEncoder);
        const opts = {
          classWord: config.classWord, count: config.numClassImages, resolution, modelId,
          cacheDir: a.cache ?? path.join(path.dirname(a.out!), '.detex-class-images'), steps: classImageSteps, signal: ac.signal,
          warn: (m: string) => console.warn(m),
          onProgress: (d: number, n: number) => process.stderr.write(`\rclass images ${d}/${n}`),
        };
        cls = await classImages(models, opts);
        process.stderr.write('\n');
        console.log(`class images: ${cls.shape[0]} in ${classImageCachePath(opts)}`);
      }
    }
    trainer = new DetexTrainer(models, { config, items, classImages: cls, warn: (m) => console.warn(m) });
    const pick = trainer.initWordChoice;
    if (pick) console.log(`[V] starts from "${pick.word}" (photos' diffusion loss: ${pick.scores.map((x) => `${x.word} ${x.loss.toFixed(4)}`).join(', ')})`);
    const ck = a.checkpoint;
    if (ck && a.resume && fs.existsSync(ck)) console.log(`resumed at step ${loadCheckpoint(ck, trainer)}`);
    const r = await trainer.run({
      signal: ac.signal,
      onProgress: (p) => console.log(`step ${p.step}/${p.totalSteps} loss ${p.total.toFixed(5)} (ldm ${p.ldm.toFixed(5)} pr ${p.pr.toFixed(5)} ca ${p.ca.toFixed(5)}) ${(p.elapsedMs / 1000).toFixed(1)}s eta ${(p.etaMs / 1000).toFixed(0)}s`),
      onCheckpoint: ck ? () => saveCheckpoint(ck, trainer!) : undefined,
    });
    if (r.cancelled) {
      if (ck) saveCheckpoint(ck, trainer);
      console.error(`detex train: cancelled at step ${r.step}${ck ? ` (checkpoint ${ck}; --resume continues)` : ''}`);
      return 130;
    }
    saveConcept(a.out!, conceptFromTrainer(trainer));
    console.log(`concept written to ${a.out}`);
    return 0;
  } finally {
    process.off('SIGINT', onSig);
    trainer?.dispose();
    cls?.dispose();
    models.dispose();
  }
}
