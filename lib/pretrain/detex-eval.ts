/**
 * Does DETEX work on a world model? For held-out subjects (never seen in pretraining): render the training
 * photos, train a concept on them (exact masks: this measures DETEX, not SAM), then generate
 *   new scene        "a photo of a [V] {class} in {background} background", backgrounds none of the photos has;
 *   keep background  "a photo of a [V] {class} in [B_i] background", one per photo;
 *   class word only  "a photo of a {class} in {background} background" (the same seeds, no concept): what the
 *                    base model draws without [V], the floor for colour and pattern;
 * and read every image with the world attribute classifier: the subject's class, colour and pattern for all rows,
 * the asked background (named, or photo i's). Returns the tallies per row kind.
 */
import * as fs from 'fs';
import * as path from 'path';
import { DetexSession, sample, train } from '../engine';
import { DetexConfigInput } from '../detex/config';
import { BACKGROUNDS, BACKGROUND_WORDS, BackgroundKind, parseSubjectId, subjectPhotos } from '../world';
import { WorldAttributeClassifier } from '../metrics/world-attributes';
import { ImageRead, ReadTally, expectedLabels, formatTally, readImages, tally } from '../demo/world-read';
import { HostTensor } from '../io/host-tensor';

export const DETEX_EVAL_KINDS = ['new scene', 'keep background', 'class word only'] as const;
export type DetexEvalKind = (typeof DETEX_EVAL_KINDS)[number];

export interface DetexEvalOptions {
  subjects: string[];
  /** where concepts and class images go (class images are cached there across runs) */
  workDir: string;
  photos?: number;
  /** DETEX settings (else the model's detex_config.json, else the paper's) */
  options?: Partial<DetexConfigInput>;
  steps?: number;
  /** new backgrounds per subject (the first ones no photo has) */
  newBackgrounds?: number;
  imagesPerPrompt?: number;
  /** images per "[B_i] background" prompt (default 1) */
  imagesPerPhoto?: number;
  sampleSteps?: number;
  /** default: the model's detex_config.json, else the paper's 6 */
  guidance?: number;
  classImageSteps?: number;
  seed?: number;
  /** sample from concepts already in workDir (same subjects, same training) instead of training again: how a
   * sampling setting such as guidance is compared without the training's 90 % of the time */
  reuseConcepts?: boolean;
  log?: (line: string) => void;
  /** every generated image, for a contact sheet */
  onImages?: (subject: string, kind: DetexEvalKind, images: HostTensor[]) => void;
}

export interface DetexEvalResult {
  total: Record<DetexEvalKind, ReadTally>;
  perSubject: Record<string, Record<DetexEvalKind, ReadTally>>;
}

export async function evaluateDetexOnWorld(s: DetexSession, classifier: WorldAttributeClassifier, o: DetexEvalOptions): Promise<DetexEvalResult> {
  const log = o.log ?? (() => undefined);
  const sd = await s.sd();
  const size = (sd.unet.config.raw.sample_size as number) * sd.vae.scaleFactor;
  const seed = o.seed ?? 0;
  const reads: Record<string, Record<DetexEvalKind, ImageRead[]>> = {};
  fs.mkdirSync(o.workDir, { recursive: true });
  for (const id of o.subjects) {
    const subject = parseSubjectId(id);
    const scenes = subjectPhotos(id, o.photos ?? 4, seed, { size });
    const photoBackgrounds = scenes.map((x) => x.attributes.background);
    const fresh = BACKGROUNDS.filter((b) => !photoBackgrounds.includes(b)).slice(0, o.newBackgrounds ?? 3);
    const concept = path.join(o.workDir, `${id}.safetensors`);
    const t0 = Date.now();
    if (o.reuseConcepts && fs.existsSync(concept)) log(`${id}: sampling the concept already trained in ${concept}`);
    else {
      const r = await train(s, {
        images: scenes.map((x) => x.image), masks: scenes.map((x) => x.mask), className: subject.cls, conceptPath: concept,
        steps: o.steps, seed, classImageSteps: o.classImageSteps ?? 25, options: o.options,
      });
      log(`${id}: [V] from "${r.initWord}"; trained ${r.steps} steps in ${((Date.now() - t0) / 1000).toFixed(0)} s (last loss ${r.loss?.toFixed(4)})`);
    }
    const jobs: Array<{ kind: DetexEvalKind; prompt: string; background: BackgroundKind | { photo: number }; concept?: string; count: number }> = [
      ...fresh.map((b) => ({ kind: 'new scene' as const, prompt: `a photo of a {{V}} {{class}} in ${BACKGROUND_WORDS[b]} background`, background: b, concept, count: o.imagesPerPrompt ?? 2 })),
      ...photoBackgrounds.map((_, i) => ({ kind: 'keep background' as const, prompt: `a photo of a {{V}} {{class}} in {{B.${i + 1}}} background`, background: { photo: i + 1 }, concept, count: o.imagesPerPhoto ?? 1 })),
      ...fresh.map((b) => ({ kind: 'class word only' as const, prompt: `a photo of a ${subject.cls} in ${BACKGROUND_WORDS[b]} background`, background: b, count: o.imagesPerPrompt ?? 2 })),
    ];
    reads[id] = { 'new scene': [], 'keep background': [], 'class word only': [] };
    const shown: Record<DetexEvalKind, HostTensor[]> = { 'new scene': [], 'keep background': [], 'class word only': [] };
    for (const [k, j] of jobs.entries()) {
      // the class-word row reuses the new-scene rows' seeds: same starting noise, with and without [V]
      const promptSeed = seed * 1000 + (j.kind === 'class word only' ? k - fresh.length - photoBackgrounds.length : k);
      const out = await sample(s, { prompt: j.prompt, conceptPath: j.concept, steps: o.sampleSteps ?? 25, guidance: o.guidance, seed: promptSeed, count: j.count });
      const expected = expectedLabels({ subject: 'own', background: j.background }, subject, photoBackgrounds);
      reads[id][j.kind].push(...readImages(classifier, out.images, out.images.map(() => expected)));
      shown[j.kind].push(...out.images);
    }
    for (const kind of DETEX_EVAL_KINDS) {
      log(`  ${kind}: ${formatTally(tally(reads[id][kind]))}`);
      o.onImages?.(id, kind, shown[kind]);
    }
  }
  const perSubject = Object.fromEntries(Object.entries(reads).map(([id, r]) => [id, Object.fromEntries(DETEX_EVAL_KINDS.map((k) => [k, tally(r[k])]))])) as DetexEvalResult['perSubject'];
  const total = Object.fromEntries(DETEX_EVAL_KINDS.map((k) => [k, tally(Object.values(reads).flatMap((r) => r[k]))])) as DetexEvalResult['total'];
  return { total, perSubject };
}

/** "new scene: class 5/18, colour 14/18, …" one line per kind. */
export function formatDetexEval(r: DetexEvalResult): string {
  return DETEX_EVAL_KINDS.map((k) => `${k}: ${formatTally(r.total[k])}`).join('\n');
}
