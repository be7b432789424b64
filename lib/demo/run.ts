/**
 * The main job, headless and end to end: render 4 photos of a held-out world subject, mask them with SAM
 * from a point, train DETEX, generate the prompt grid, write PNGs (with their recipe) and an HTML report.
 * It drives lib/engine, exactly as the Node-RED example flow does.
 */
import * as fs from 'fs';
import * as path from 'path';
import { DetexSession, samMask, train, trainingConfig, sample } from '../engine';
import { initBackend } from '../backend';
import { writePng } from '../io/image';
import { hostTensor, HostTensor } from '../io/host-tensor';
import { subjectPhotos, heldOutSubjects, subjectId, parseSubjectId } from '../world';
import { defaultModelDir, modelNote, DEFAULT_MODEL_NAME, TINY_MODEL_NAME } from '../models/default-model';
import { DEMO_TRAINING, demoPrompts } from './prompts';
import { DetexConfigInput, effectiveLearningRates } from '../detex/config';
import { readModelTrainingDefaults, samplingGuidance } from '../detex/model-defaults';
import { ReportData, ReportRow, writeReport } from './report';
import { ImageRead, expectedLabels, formatTally, loadWorldClassifier, readImages, tally } from './world-read';
import { WorldAttributeClassifier } from '../metrics/world-attributes';

export interface DemoOptions {
  out: string;
  /** a model folder; default the embedded detex-mini */
  model?: string;
  /** a world subject id; default the first held-out one */
  subject?: string;
  photos?: number;
  trainSteps?: number;
  batchSize?: number;
  /** K/V learning rate; default the model's detex_config.json, else DEMO_TRAINING's */
  learningRate?: number;
  numClassImages?: number;
  classImageSteps?: number;
  sampleSteps?: number;
  guidance?: number;
  imagesPerPrompt?: number;
  seed?: number;
  log?: (line: string) => void;
  signal?: AbortSignal;
}

export interface DemoResult {
  report: string;
  concept: string;
  images: string[];
  /** per prompt row, what the model's world classifier saw in each image (models with one: detex-mini) */
  reads?: Array<{ group: string; reads: ImageRead[] }>;
}

function iou(a: Uint8Array, b: Uint8Array): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] > 0;
    const y = b[i] > 0;
    if (x && y) inter++;
    if (x || y) union++;
  }
  return union ? inter / union : 1;
}

/** A 0/1 mask as a grey PNG-able image. */
function maskImage(m: Uint8Array, h: number, w: number) {
  return hostTensor('uint8', [h, w, 3], Uint8Array.from({ length: h * w * 3 }, (_, i) => (m[Math.floor(i / 3)] ? 255 : 0)));
}

/** What the report says about the model: the embedded default, the random detex-tiny, or a user folder. */
export function describeModel(folder: string): string {
  const dir = path.resolve(folder);
  if (path.basename(dir) === TINY_MODEL_NAME) {
    return `Model: ${TINY_MODEL_NAME} — random, untrained weights. The flow runs end to end but the images are noise; leave --model out for the pretrained ${DEFAULT_MODEL_NAME}.`;
  }
  let isDefault = false;
  try {
    isDefault = dir === path.resolve(defaultModelDir());
  } catch {
    // the embedded default is missing: describe the folder by its own note
  }
  if (isDefault) {
    return `Model: ${DEFAULT_MODEL_NAME}, the embedded default — pretrained from scratch on the package's procedural world (train split; ` +
      'the subject here is held out, never seen in pretraining), 64 px images. Its pretraining is still in progress ' +
      `(models/${DEFAULT_MODEL_NAME}/TRAINING.md says what it has learnt so far).`;
  }
  const note = modelNote(dir);
  return `Model: ${dir}${note ? ` — ${note}` : ''}`;
}

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const log = o.log ?? ((l: string) => console.log(l));
  const seed = o.seed ?? 0;
  const photosN = o.photos ?? 4;
  const timings: Array<[string, number]> = [];
  const timed = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    const r = await f();
    timings.push([what, Date.now() - t0]);
    return r;
  };
  const id = o.subject ?? subjectId(heldOutSubjects()[0]);
  const subject = parseSubjectId(id);
  const cls = subject.cls;
  const dirs = { photos: path.join(o.out, 'photos'), grid: path.join(o.out, 'generated') };
  Object.values(dirs).forEach((d) => fs.mkdirSync(d, { recursive: true }));
  const session = await DetexSession.open(o.model, { warn: (m) => log(`warning: ${m}`) });
  let classifier: WorldAttributeClassifier | undefined;
  const info = await initBackend(); // chosen by the session for this model's size
  try {
    const sd = await session.sd();
    const size = (sd.unet.config.raw.sample_size as number) * sd.vae.scaleFactor;
    log(`model: ${session.folder} (${size} px images; backend ${info.backend})`);

    // 1. photos of the subject, and SAM masks from one point on it
    log(`[1/4] rendering ${photosN} photos of ${id} at ${size}px and masking them with SAM`);
    const scenes = subjectPhotos(id, photosN, seed, { size });
    const masks: HostTensor[] = [];
    const reportPhotos = [];
    for (const [i, s] of scenes.entries()) {
      const { mask } = await timed(`SAM mask ${i + 1}`, () => samMask(session, s.image, { points: [s.point] }));
      masks.push(mask);
      const file = `photos/photo-${i + 1}.png`;
      const maskFile = `photos/mask-${i + 1}.png`;
      await writePng(path.join(o.out, file), s.image);
      await writePng(path.join(o.out, maskFile), maskImage(mask.data as Uint8Array, size, size));
      reportPhotos.push({ file, maskFile, caption: s.caption, maskIoU: iou(mask.data as Uint8Array, s.mask.data as Uint8Array) });
    }

    // 2. DETEX training
    const concept = path.join(o.out, 'concept.safetensors');
    // what the demo asks for: the caller's flags, else the model's own detex_config.json, else the demo's budget
    const fromModel = readModelTrainingDefaults(session.folder);
    const given = { steps: o.trainSteps, batchSize: o.batchSize, learningRate: o.learningRate, numClassImages: o.numClassImages };
    const options: Partial<DetexConfigInput> = { ...DEMO_TRAINING, ...fromModel };
    for (const [k, v] of Object.entries(given)) if (v !== undefined) (options as Record<string, unknown>)[k] = v;
    const cfg = trainingConfig(session, { className: cls, seed, options });
    const classImageSteps = o.classImageSteps ?? 25;
    const lrs = effectiveLearningRates(cfg);
    log(`[2/4] training DETEX for ${cfg.steps} steps (batch ${cfg.batchSize}, lr ${lrs.kv} K/V, ${lrs.embedding} [V], ${lrs.mapper} mappers; ` +
      `${cfg.numClassImages} class images × ${classImageSteps} DDIM steps)`);
    const losses: Array<{ step: number; loss: number }> = [];
    const t0 = Date.now();
    const trained = await timed('DETEX training (incl. class images)', () =>
      train(
        session,
        {
          images: scenes.map((s) => s.image), masks, className: cls, conceptPath: concept, seed, classImageSteps, options,
        },
        {
          signal: o.signal,
          onProgress: (p) => {
            if (p.phase === 'class-images') {
              log(`      class image ${p.step}/${p.total} for prior preservation (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
              return;
            }
            if (p.loss === undefined) return;
            losses.push({ step: p.step, loss: p.loss });
            if (p.step === 1 || p.step % 10 === 0 || p.step === p.total) {
              log(`      step ${p.step}/${p.total} loss ${p.loss.toFixed(4)} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
            }
          },
        },
      ),
    );
    if (cfg.initCandidates.length) log(`      [V] starts from "${trained.initWord}": of ${cfg.initCandidates.join(', ')}, the word under which the base model best denoises the photos`);

    // 3. the prompt grid, each image read by the world classifier when the model has one
    classifier = loadWorldClassifier(session.folder);
    const prompts = demoPrompts(photosN, cls === 'cup' ? 'ball' : 'cup');
    const guidance = samplingGuidance(session.folder, o.guidance);
    log(`[3/4] generating ${prompts.length} prompts × ${o.imagesPerPrompt ?? 2} images, ${o.sampleSteps ?? 50} DDIM steps, guidance ${guidance}`);
    const rows: ReportRow[] = [];
    const images: string[] = [];
    const photoBackgrounds = scenes.map((x) => x.attributes.background);
    for (const [k, p] of prompts.entries()) {
      const r = await timed(`sample "${p.template}"`, () =>
        sample(session, { prompt: p.template, conceptPath: concept, steps: o.sampleSteps ?? 50, guidance, seed: seed + k, count: o.imagesPerPrompt ?? 2 }, { signal: o.signal }),
      );
      const files = [];
      for (const [j, im] of r.images.entries()) {
        const file = `generated/${String(k + 1).padStart(2, '0')}-${j + 1}.png`;
        await writePng(path.join(o.out, file), im, {
          prompt: r.prompt, seed: seed + k, steps: o.sampleSteps ?? 50, guidance,
          model: path.basename(session.folder), concept: path.basename(concept),
        });
        files.push(file);
        images.push(path.join(o.out, file));
      }
      const expected = expectedLabels(p.expect, subject, photoBackgrounds);
      const reads = classifier ? readImages(classifier, r.images, r.images.map(() => expected)) : undefined;
      rows.push({ group: p.group, prompt: r.prompt, files, expected, reads });
      log(`      ${p.group}: ${r.prompt}${reads ? ` — shows ${formatTally(tally(reads))}` : ''}`);
    }
    const allReads = rows.flatMap((r) => r.reads ?? []);
    const worldRead = classifier ? formatTally(tally(allReads)) : undefined;
    if (worldRead) log(`      the world classifier sees, over all ${allReads.length} images: ${worldRead}`);

    // 4. the report
    const report = path.join(o.out, 'report.html');
    const data: ReportData = {
      title: 'DETEX demo',
      modelNote: describeModel(session.folder),
      subject: id,
      className: cls,
      photos: reportPhotos,
      losses,
      rows,
      timings,
      backend: `${info.backend} (${info.provider})`,
      worldRead,
    };
    writeReport(report, data);
    log(`[4/4] report: ${report}`);
    return { report, concept, images, reads: classifier ? rows.map((r) => ({ group: r.group, reads: r.reads! })) : undefined };
  } finally {
    classifier?.dispose();
    await session.dispose();
  }
}
