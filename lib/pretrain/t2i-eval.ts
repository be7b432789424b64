/**
 * Text-to-image progress, measured with the world oracle: generate one image per caption of a fixed set of
 * train-split scenes (DDIM, classifier-free guidance), then read the background kind (oracle without a
 * mask: border frame) and the body colour. Generated images have no mask, so colour is the palette colour
 * whose share of votes (oracle `nearestColour`) inside a centred disk (radius 0.25·size; subjects are posed
 * near the centre) most exceeds its share in a 6 px border frame (the background's own colours cancel).
 * The same protocol on the real renders of those captions gives the ceiling of this measurement (on 200
 * train renders: 0.885 for colour, vs 1.0 with the true mask and 0.49 from the plain disk vote).
 *
 * With a world attribute classifier (lib/metrics/world-attributes.ts, `<model>/attribute_classifier/`), the
 * same images are also scored per attribute the prompt names — class, colour, pattern, background — as the
 * share whose predicted label is the caption's; on the real renders that is the ceiling.
 */
import * as tf from '@tensorflow/tfjs-core';
import { hostTensor, HostTensor } from '../io/host-tensor';
import { AutoencoderKL } from '../models/vae/autoencoder-kl';
import { sample } from '../pipelines/sample';
import { Denoiser } from '../pipelines/types';
import { DDIMScheduler } from '../schedulers/ddim';
import { estimateBackground, nearestColour, PATTERNS, RenderedScene, SceneFilter } from '../world';
import { attributeAccuracy, attributeConfusion, sceneAttributeLabels, WorldAttribute, WorldAttributeClassifier } from '../metrics/world-attributes';
import { imageGrid } from './grid';
import { TextConditioner } from './text-cond';
import { evalScenes } from './world-data';

export interface T2IScores {
  background: number;
  colour: number;
  /** the same protocol on the real renders */
  referenceBackground: number;
  referenceColour: number;
  n: number;
  /**
   * classifier accuracy per attribute on the generated images and on the real renders (when given one), and what
   * the generated images' patterns were read as (asked → read → count)
   */
  classifier?: { generated: Record<WorldAttribute, number>; reference: Record<WorldAttribute, number>; patternReads: Record<string, Record<string, number>> };
}

/** Classifier accuracy per attribute of generated images and of the real renders of the same captions. */
export function classifierT2IScores(classifier: WorldAttributeClassifier, generated: readonly HostTensor[], scenes: readonly RenderedScene[]): NonNullable<T2IScores['classifier']> {
  const truth = scenes.map((s) => sceneAttributeLabels(s.attributes));
  const reads = classifier.predict(generated);
  return {
    generated: attributeAccuracy(reads, truth),
    reference: attributeAccuracy(classifier.predict(scenes.map((s) => s.image)), truth),
    patternReads: attributeConfusion(reads, truth, 'pattern', PATTERNS),
  };
}

function region(size: number, inside: (x: number, y: number) => boolean): Uint8Array {
  const m = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) if (inside(x, y)) m[y * size + x] = 1;
  return m;
}

function voteShares(img: HostTensor, m: Uint8Array): Map<string, number> {
  const d = img.data;
  const v = new Map<string, number>();
  let n = 0;
  for (let i = 0; i < m.length; i++) {
    if (!m[i]) continue;
    const k = nearestColour(d[3 * i], d[3 * i + 1], d[3 * i + 2]);
    v.set(k, (v.get(k) ?? 0) + 1);
    n++;
  }
  for (const [k, c] of v) v.set(k, c / n);
  return v;
}

/** Body colour of a subject near the centre, without a mask (see the file comment). */
export function centreColour(img: HostTensor): string {
  const size = img.shape[0];
  const c = (size - 1) / 2;
  const r = 0.25 * size;
  const disk = voteShares(img, region(size, (x, y) => (x - c) ** 2 + (y - c) ** 2 <= r * r));
  const frame = voteShares(img, region(size, (x, y) => x < 6 || y < 6 || x >= size - 6 || y >= size - 6));
  let best = '';
  let top = -Infinity;
  for (const [k, v] of disk) {
    const sc = v - (frame.get(k) ?? 0);
    if (sc > top) {
      top = sc;
      best = k;
    }
  }
  return best;
}

function score(images: HostTensor[], scenes: RenderedScene[]): { background: number; colour: number } {
  let bg = 0;
  let col = 0;
  images.forEach((img, i) => {
    if (estimateBackground(img).kind === scenes[i].attributes.background) bg++;
    if (centreColour(img) === scenes[i].attributes.colour) col++;
  });
  return { background: bg / images.length, colour: col / images.length };
}

/** The scores as printed by the evaluation commands. */
export function formatT2IScores(s: T2IScores): string[] {
  const lines = [`oracle: background ${s.background.toFixed(2)} (real ${s.referenceBackground.toFixed(2)}), colour ${s.colour.toFixed(2)} (real ${s.referenceColour.toFixed(2)}) over ${s.n} captions`];
  if (s.classifier) {
    const c = s.classifier;
    const parts = (Object.keys(c.generated) as WorldAttribute[]).map((a) => `${a} ${c.generated[a].toFixed(2)} (real ${c.reference[a].toFixed(2)})`);
    lines.push(`classifier: ${parts.join(', ')}`);
    const rows = Object.entries(c.patternReads).map(([asked, read]) => `${asked} → ${Object.entries(read).map(([r, n]) => `${r} ${n}`).join(' ')}`);
    lines.push(`pattern asked → read as (generated): ${rows.join('; ')}`);
  }
  return lines;
}

/** Generates, scores, and returns a sheet (top: generated, bottom: the real renders of the same captions). */
export async function evaluateT2I(o: {
  unet: Denoiser;
  vae: AutoencoderKL;
  scheduler: DDIMScheduler;
  text: TextConditioner;
  n?: number;
  seed?: number;
  steps?: number;
  guidance?: number;
  size?: number;
  /** also score class / colour / pattern / background with this classifier */
  classifier?: WorldAttributeClassifier;
  /** captions of a narrowed world (lib/world/scene-filter.ts), for a capacity test */
  only?: SceneFilter;
}): Promise<{ scores: T2IScores; sheet: HostTensor; captions: string[]; images: HostTensor[] }> {
  const n = o.n ?? 36;
  const size = o.size ?? 64;
  const set = evalScenes(n, o.seed ?? 11, { size, split: 'train', only: o.only });
  const images: HostTensor[] = [];
  const chunk = 6;
  const gen = new Float32Array(n * size * size * 3);
  for (let i = 0; i < n; i += chunk) {
    const caps = set.captions.slice(i, i + chunk);
    const pe = o.text.embed(caps);
    const ne = o.text.embed(['']);
    const r = await sample({
      unet: o.unet, vae: o.vae, scheduler: o.scheduler, promptEmbeds: pe, negativeEmbeds: ne,
      guidanceScale: o.guidance ?? 4, steps: o.steps ?? 20, seed: (o.seed ?? 11) + i, height: size, width: size,
    });
    const data = r.images!.dataSync() as Float32Array;
    tf.dispose([pe, ne, r.latents, r.images!]);
    const px = size * size * 3;
    for (let k = 0; k < caps.length; k++) {
      const u8 = new Uint8Array(px);
      for (let j = 0; j < px; j++) {
        u8[j] = Math.floor(Math.min(1, Math.max(0, data[k * px + j])) * 255 + 0.5);
        gen[(i + k) * px + j] = data[k * px + j] * 2 - 1;
      }
      images.push(hostTensor('uint8', [size, size, 3], u8));
    }
  }
  const g = score(images, set.scenes);
  const ref = score(set.scenes.map((s) => s.image), set.scenes);
  const sheet = imageGrid([gen, set.images.data], n, size, size);
  const scores: T2IScores = { background: g.background, colour: g.colour, referenceBackground: ref.background, referenceColour: ref.colour, n };
  if (o.classifier) scores.classifier = classifierT2IScores(o.classifier, images, set.scenes);
  return { scores, sheet, captions: set.captions, images };
}
