/**
 * The quality benchmark (issue 8): the paper's Tables 1 and 3 reproduced on the procedural world.
 *
 *   for each held-out subject: render `photos` training photos, mask them with the model's SAM from the world's
 *   point prompt;
 *   for each training seed × subject × method (DETEX, Custom Diffusion, the three ablations — one trainer, one
 *   preset each, same seed, steps and data): train a concept, sample the editing prompts (prompts.ts) with the
 *   same sampling seeds, score CLIP-T, CLIP-I, CLIP-I(FG), a DINO-I-like score (features.ts) and the world
 *   oracle (oracle.ts); each finished cell is cached on disk (cache.ts), so a killed run continues;
 *   then the table (mean ± std over subjects × seeds), a grid per method, the attention-map figure and the
 *   report (report.ts).
 */
import * as fs from 'fs';
import * as path from 'path';
import { DetexSession, samMask, train, sample, evaluate, attentionMaps, attentionAlignment, MetricName } from '../engine';
import { foreground } from '../engine/evaluate';
import { Image, Mask } from '../engine/types';
import { initBackend } from '../backend';
import { decodeImage, writePng } from '../io/image';
import { hostTensor } from '../io/host-tensor';
import { meanPairwiseCosine } from '../metrics/similarity';
import { BackgroundKind, RenderedScene, parseSubjectId, subjectPhotos } from '../world';
import { BenchSettings, METHOD_LABELS, ModelChoice, defaultBenchModel, describeModel, validateSettings } from './config';
import { editingPrompts, EditPrompt } from './prompts';
import { oracle, OracleResult } from './oracle';
import { dinoLikeExtractor, FeatureExtractor } from './features';
import { CellRecord, PromptRecord, cellPath, hashKey, modelStamp, readCell, writeJsonAtomic } from './cache';
import { aggregate, Aggregate, CellScores, mean } from './aggregate';
import { imageGrid } from './grid';
import { writeReports } from './report';

/** Every score of a cell; the oracle ones are fractions of images (bg-prob: mean probability). */
export const SCORE_KEYS = ['clip-t', 'clip-i', 'clip-i-fg', 'dino-i', 'dino-i-fg', 'bg-acc', 'colour-acc', 'colour-kept', 'recolour', 'bg-prob', 'subject-found'] as const;
/** How well [P_i]/[B_i] attend to photo i's subject/background (engine/attention-alignment.ts), for every method
 *  with those tokens; computed from the saved concept on every run, so not part of a cell's cache key. */
export const ALIGNMENT_KEYS = ['attn-pose-on-subject', 'attn-background-off-subject', 'subject-area'] as const;
/** Scores of a cell read from some prompt kinds only: the subject's own colour kept (background and pose prompts),
 *  the asked-for new colour (recolouring prompt). */
const KIND_SCORES: Record<string, { from: 'colour-acc'; kinds: string[] }> = {
  'colour-kept': { from: 'colour-acc', kinds: ['background', 'pose'] },
  recolour: { from: 'colour-acc', kinds: ['colour'] },
};

export interface BenchOptions {
  out: string;
  /** model folder; default detex-mini when it has landed, else detex-tiny (flagged) */
  model?: string;
  settings: BenchSettings;
  log?: (line: string) => void;
  signal?: AbortSignal;
  /** skip the attention-map figure */
  noAttention?: boolean;
}

export interface BenchResult {
  model: ModelChoice;
  cells: CellRecord[];
  aggregate: Aggregate;
  files: { markdown: string; json: string; html: string; table: string; grids: string[]; compare: string[]; attention?: string };
  /** cells computed by this run (the rest came from the cache) */
  computed: number;
  seconds: number;
}

interface SubjectData {
  id: string;
  cls: string;
  scenes: RenderedScene[];
  masks: Mask[];
  maskIoU: number[];
  fg: Image[];
  prompts: EditPrompt[];
  refFeat?: { all: Float32Array[]; fg: Float32Array[] };
}

function iou(a: Mask, b: Mask): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.data.length; i++) {
    const x = (a.data[i] as number) > 0;
    const y = (b.data[i] as number) > 0;
    if (x && y) inter++;
    if (x || y) union++;
  }
  return union ? inter / union : 1;
}

const maskImage = (m: Mask) => {
  const [h, w] = m.shape;
  return hostTensor('uint8', [h, w, 3], Uint8Array.from({ length: h * w * 3 }, (_, i) => (m.data[Math.floor(i / 3)] ? 255 : 0)));
};

const rel = (out: string, f: string) => path.relative(out, f).split(path.sep).join('/');

export async function runBenchQuality(o: BenchOptions): Promise<BenchResult> {
  const t0 = Date.now();
  const log = o.log ?? ((l: string) => console.log(l));
  const s = o.settings;
  validateSettings(s);
  const model = o.model ? describeModel(o.model) : defaultBenchModel();
  if (!model.meaningful) log(`\n!!! ${model.note}\n`);
  fs.mkdirSync(o.out, { recursive: true });
  const session = await DetexSession.open(model.folder, { warn: (m) => log(`warning: ${m}`) });
  const backend = await initBackend();
  let features: FeatureExtractor | undefined;
  try {
    const sd = await session.sd();
    const size = (sd.unet.config.raw.sample_size as number) * sd.vae.scaleFactor;
    const stamp = modelStamp(model.folder);
    // CLIP-T needs a text tower with a projection (detex-mini has one; detex-tiny has none)
    let clipTNote: string | undefined;
    try {
      await session.textTower();
    } catch (e) {
      clipTNote = `CLIP-T not computed: ${(e as Error).message.split('. ')[0]}`;
      log(`note: ${clipTNote}`);
    }
    const clipMetrics: MetricName[] = clipTNote ? ['clip-i', 'clip-i-fg'] : ['clip-t', 'clip-i', 'clip-i-fg'];
    features = await dinoLikeExtractor(session);
    log(`model ${model.folder} (${model.note}); ${size} px; backend ${backend.backend}; DINO-I-like features: ${features.name}`);

    // 1. subjects: photos, SAM masks from the world's point prompt, the editing prompts
    const subjects: SubjectData[] = [];
    for (const id of s.subjects) {
      const identity = parseSubjectId(id);
      const scenes = subjectPhotos(id, s.photos, s.dataSeed, { size });
      const masks: Mask[] = [];
      const dir = path.join(o.out, 'subjects', id);
      fs.mkdirSync(dir, { recursive: true });
      for (const [i, sc] of scenes.entries()) {
        const { mask } = await samMask(session, sc.image, { points: [sc.point] });
        masks.push(mask);
        await writePng(path.join(dir, `photo-${i + 1}.png`), sc.image);
        await writePng(path.join(dir, `mask-${i + 1}.png`), maskImage(mask));
      }
      const prompts = editingPrompts(identity, scenes.map((x) => x.attributes.background as BackgroundKind), s);
      subjects.push({
        id, cls: identity.cls, scenes, masks, maskIoU: masks.map((m, i) => iou(m, scenes[i].mask)),
        fg: scenes.map((sc, i) => foreground(sc.image, masks[i])), prompts,
      });
      log(`subject ${id}: ${s.photos} photos, SAM mask IoU ${subjects[subjects.length - 1].maskIoU.map((x) => x.toFixed(2)).join(' ')}; prompts: ${prompts.map((p) => p.id).join(', ')}`);
    }

    // 2. the cells
    const cells: CellRecord[] = [];
    const total = s.seeds.length * subjects.length * s.methods.length;
    let computed = 0;
    let done = 0;
    const segment = async (img: Image, point: [number, number]) => (await samMask(session, img, { points: [point] })).mask;
    for (const seed of s.seeds) {
      for (const sub of subjects) {
        for (const method of s.methods) {
          done++;
          if (o.signal?.aborted) throw Object.assign(new Error('bench quality cancelled'), { name: 'AbortError' });
          const key = hashKey({
            stamp, method, subject: sub.id, seed, photos: s.photos, dataSeed: s.dataSeed, trainSteps: s.trainSteps, batchSize: s.batchSize,
            lr: s.learningRate, nCls: s.numClassImages, clsSteps: s.classImageSteps, prompts: sub.prompts, n: s.imagesPerPrompt,
            sampleSteps: s.sampleSteps, guidance: s.guidance, clipMetrics, features: features.name, scoreKeys: SCORE_KEYS,
          });
          const file = cellPath(o.out, method, sub.id, seed);
          const cached = readCell(file, key);
          if (cached) {
            cells.push(cached);
            log(`[${done}/${total}] ${method} × ${sub.id} × seed ${seed}: cached`);
            continue;
          }
          log(`[${done}/${total}] ${method} × ${sub.id} × seed ${seed}: training ${s.trainSteps} steps`);
          const cell = await runCell(o.out, session, features, sub, method, seed, s, key, clipMetrics, segment, log, o.signal);
          writeJsonAtomic(file, cell);
          cells.push(cell);
          computed++;
          const sc = cell.scores;
          const f = (k: string) => (sc[k] === null || sc[k] === undefined ? '—' : (sc[k] as number).toFixed(3));
          log(`      train ${cell.train.seconds.toFixed(0)} s, sample ${cell.sampleSeconds.toFixed(0)} s, score ${cell.scoreSeconds.toFixed(0)} s; ` +
            `CLIP-T ${f('clip-t')} CLIP-I ${f('clip-i')} CLIP-I(FG) ${f('clip-i-fg')} DINO-I* ${f('dino-i')} bg ${f('bg-acc')} colour ${f('colour-acc')}`);
        }
      }
    }

    // 3. the attention-map figure (DETEX, first subject and seed)
    let attentionFile: string | undefined;
    let attentionTokens: Array<{ label: string; token: string; max: number; mean: number }> | undefined;
    let attentionPrompt: string | undefined;
    const detexCell = cells.find((c) => c.method === 'detex' && c.subject === subjects[0].id && c.seed === s.seeds[0]);
    if (!o.noAttention && detexCell && !fs.existsSync(path.join(o.out, detexCell.train.concept))) log(`note: no attention figure, ${detexCell.train.concept} is gone`);
    else if (!o.noAttention && detexCell) {
      const sub = subjects[0];
      const concept = path.join(o.out, detexCell.train.concept);
      attentionFile = path.join(o.out, `attention-${sub.id}.png`);
      const r = await attentionMaps(session, {
        prompt: 'a photo of a {{V}} {{class}} with {{P.1}} pose in {{B.1}} background', conceptPath: concept, tokens: ['V', 'P.1', 'B.1'],
        steps: s.sampleSteps, guidance: s.guidance, seed: 0, downscale: s.attentionDownscale,
      });
      fs.writeFileSync(attentionFile, r.png);
      attentionTokens = r.tokens.map((t) => ({ label: t.label, token: t.token, max: t.max, mean: t.mean }));
      attentionPrompt = `${r.prompt} (attn2 layers at ${r.resolution[0]}×${r.resolution[1]}: ${r.layers.join(', ')}; ${s.sampleSteps} DDIM steps)`;
      log(`attention maps: ${attentionFile}`);
    }

    // 3b. attention alignment of [P_i]/[B_i] with the training masks (the ablation w/o L_CA included)
    if (!o.noAttention) {
      for (const c of cells) {
        const concept = path.join(o.out, c.train.concept);
        const sub = subjects.find((x) => x.id === c.subject);
        if (c.method === 'custom-diffusion' || !sub || !fs.existsSync(concept)) continue;
        const a = await attentionAlignment(session, { conceptPath: concept, images: sub.scenes.map((x) => x.image), masks: sub.masks, seed: c.seed });
        c.scores = { ...c.scores, 'attn-pose-on-subject': a.poseOnSubject, 'attn-background-off-subject': a.backgroundOffSubject, 'subject-area': a.subjectArea };
      }
      log('attention alignment of [P_i]/[B_i] with the training masks: done');
    }

    // 4. grids: one per method, rows = subjects (first seed), columns = training photo 1 + each prompt's first image
    const grids: string[] = [];
    const compare: string[] = [];
    for (const method of s.methods) {
      const rows: Array<Array<Image | undefined>> = [];
      for (const sub of subjects) {
        const cell = cells.find((c) => c.method === method && c.subject === sub.id && c.seed === s.seeds[0]);
        const row: Array<Image | undefined> = [sub.scenes[0].image];
        for (const p of cell?.prompts ?? []) row.push(p.images[0] ? (await decodeImage(path.join(o.out, p.images[0]))).rgb : undefined);
        rows.push(row);
      }
      const file = path.join(o.out, 'grids', `${method}.png`);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      await writePng(file, imageGrid(rows));
      grids.push(file);
    }

    // ... and one per subject: rows = methods
    for (const sub of subjects) {
      const rows: Array<Array<Image | undefined>> = [];
      for (const method of s.methods) {
        const cell = cells.find((c) => c.method === method && c.subject === sub.id && c.seed === s.seeds[0]);
        const row: Array<Image | undefined> = [sub.scenes[0].image];
        for (const p of cell?.prompts ?? []) row.push(p.images[0] ? (await decodeImage(path.join(o.out, p.images[0]))).rgb : undefined);
        rows.push(row);
      }
      const file = path.join(o.out, 'grids', `compare-${sub.id}.png`);
      await writePng(file, imageGrid(rows));
      compare.push(file);
    }

    // 5. aggregate and report
    const scoreCells: CellScores[] = cells.map((c) => ({ method: c.method, subject: c.subject, seed: c.seed, scores: c.scores }));
    const agg = aggregate(scoreCells, s.methods, [...SCORE_KEYS, ...ALIGNMENT_KEYS]);
    const seconds = (Date.now() - t0) / 1000;
    const files = writeReports(o.out, {
      model, settings: s, backend: `${backend.backend} (${backend.provider})`, featureName: features.name, clipTNote,
      subjects: subjects.map((x) => ({ id: x.id, maskIoU: x.maskIoU, prompts: x.prompts, photos: x.scenes.map((_, i) => `subjects/${x.id}/photo-${i + 1}.png`) })),
      cells, aggregate: agg, grids: grids.map((g) => rel(o.out, g)), compare: compare.map((g) => rel(o.out, g)), attention: attentionFile ? { file: rel(o.out, attentionFile), tokens: attentionTokens!, prompt: attentionPrompt! } : undefined,
      seconds, computed,
    });
    log(`report: ${files.html}\n${fs.readFileSync(files.table, 'utf8')}`);
    return { model, cells, aggregate: agg, files: { ...files, grids, compare, attention: attentionFile }, computed, seconds };
  } finally {
    features?.dispose();
    await session.dispose();
  }
}

async function runCell(
  out: string, session: DetexSession, features: FeatureExtractor, sub: SubjectData, method: string, seed: number, s: BenchSettings,
  key: string, clipMetrics: MetricName[], segment: (img: Image, p: [number, number]) => Promise<Mask>, log: (l: string) => void, signal?: AbortSignal,
): Promise<CellRecord> {
  // all concepts in one folder, so the class-image cache (.detex-class-images/) is shared by methods and subjects;
  // the cell key in the name: other settings never resume (or reuse) this concept or its checkpoint
  const concept = path.join(out, 'concepts', `${method}-${sub.id}-s${seed}-${key.slice(0, 8)}.safetensors`);
  const t0 = Date.now();
  let lastLoss: number | null = null;
  // a concept is written only when its training has finished: a run killed while sampling skips training
  const done = fs.existsSync(concept);
  if (done) log('      (trained concept found, sampling only)');
  const tr = done ? { steps: s.trainSteps, resumedAt: undefined, loss: undefined } : await train(
    session,
    {
      images: sub.scenes.map((x) => x.image), masks: sub.masks, className: sub.cls, conceptPath: concept, steps: s.trainSteps, seed,
      classImageSteps: s.classImageSteps, resume: true,
      options: {
        preset: method as never, batchSize: s.batchSize, learningRate: s.learningRate, numClassImages: s.numClassImages,
        // the world's captions say "with … pose" for every class
        attributeWord: 'pose', checkpointEvery: Math.max(10, Math.floor(s.trainSteps / 4)),
      },
    },
    {
      signal,
      onProgress: (p) => {
        if (p.loss === undefined) return;
        lastLoss = p.loss;
        if (p.step % Math.max(1, Math.floor(p.total / 4)) === 0 && p.step < p.total) log(`      step ${p.step}/${p.total} loss ${p.loss.toFixed(4)}`);
      },
    },
  );
  const trainSeconds = (Date.now() - t0) / 1000;
  if (tr.resumedAt !== undefined) log(`      (resumed from step ${tr.resumedAt})`);

  // references' DINO-like features, once per subject
  if (!sub.refFeat) sub.refFeat = { all: await features.embed(sub.scenes.map((x) => x.image)), fg: await features.embed(sub.fg) };

  let sampleMs = 0;
  let scoreMs = 0;
  const prompts: PromptRecord[] = [];
  const imgDir = path.join(out, 'images', method, `${sub.id}-s${seed}`);
  fs.mkdirSync(imgDir, { recursive: true });
  for (const [k, p] of sub.prompts.entries()) {
    const sampleSeed = 1000 * seed + k; // the same for every method
    const ts = Date.now();
    const r = await sample(session, { prompt: p.template, conceptPath: concept, steps: s.sampleSteps, guidance: s.guidance, seed: sampleSeed, count: s.imagesPerPrompt }, { signal });
    sampleMs += Date.now() - ts;
    const files: string[] = [];
    for (const [j, im] of r.images.entries()) {
      const f = path.join(imgDir, `${p.id}-${j + 1}.png`);
      await writePng(f, im, { prompt: r.prompt, seed: sampleSeed, steps: s.sampleSteps, guidance: s.guidance, model: path.basename(session.folder), concept: path.basename(concept) });
      files.push(rel(out, f));
    }
    const tq = Date.now();
    const clip = await evaluate(session, { images: r.images, references: sub.scenes.map((x) => x.image), referenceMasks: sub.masks, prompt: r.prompt, metrics: clipMetrics });
    const gen = await features.embed(r.images);
    const or: OracleResult[] = [];
    for (const im of r.images) or.push(await oracle(im, p, segment));
    scoreMs += Date.now() - tq;
    const scores: Record<string, number | null> = {
      'clip-t': clip['clip-t'] ?? null,
      'clip-i': clip['clip-i'] ?? null,
      'clip-i-fg': clip['clip-i-fg'] ?? null,
      'dino-i': meanPairwiseCosine(gen, sub.refFeat.all),
      'dino-i-fg': meanPairwiseCosine(gen, sub.refFeat.fg),
      'bg-acc': mean(or.map((x) => (x.backgroundOk ? 1 : 0))),
      'colour-acc': mean(or.map((x) => (x.colourOk ? 1 : 0))),
      'bg-prob': mean(or.map((x) => x.backgroundProb)),
      'subject-found': mean(or.map((x) => (x.subjectFound ? 1 : 0))),
    };
    prompts.push({ id: p.id, kind: p.kind, template: p.template, prompt: r.prompt, plain: r.prompt.replace(/<[^<>\s]+>/g, ' ').replace(/\s+/g, ' ').trim(), sampleSeed, images: files, scores, oracle: or });
  }
  const cellScores = Object.fromEntries(SCORE_KEYS.map((k) => {
    const only = KIND_SCORES[k];
    return [k, only ? mean(prompts.filter((p) => only.kinds.includes(p.kind)).map((p) => p.scores[only.from])) : mean(prompts.map((p) => p.scores[k]))];
  }));
  return {
    version: 1, key, method, subject: sub.id, seed,
    train: { steps: tr.steps, seconds: trainSeconds, loss: lastLoss ?? tr.loss ?? null, concept: rel(out, concept) },
    sampleSeconds: sampleMs / 1000, scoreSeconds: scoreMs / 1000, prompts, scores: cellScores,
  };
}

export { METHOD_LABELS };
