/**
 * Training batches for the world attribute classifier (lib/metrics/world-attributes.ts): train-split renders,
 * pattern-balanced, with augmentation that imitates what generated 64 px images look like after the
 * detex-mini VAE decoder: soft (Gaussian blur or a down-then-up resize), slightly noisy, slightly off in
 * colour. Colour jitter is kept small enough that no palette colour changes its name (test/pretrain/
 * classifier.test.ts checks every corner of the ranges with the oracle's `nearestColour`).
 *
 * Pattern balance: a plain identity has one secondary ('none') where a patterned one has nine, so uniform
 * identities would be 96% patterned; here each item first draws its pattern uniformly, then a train identity
 * with that pattern. Everything item i draws comes from `rng.fork('item:i')`.
 */
import { Rng } from '../random';
import {
  BACKGROUNDS, PATTERNS, PatternName, RenderedScene, SubjectIdentity, renderScene, samplePose, trainIdentities,
} from '../world';
import { WORLD_ATTRIBUTES, WorldAttribute, sceneAttributeLabels, worldAttributeLabels } from '../metrics/world-attributes';

/** Colour jitter ranges (image values in [0, 1]). */
export const JITTER = {
  brightness: [0.92, 1.08],
  contrast: [0.9, 1.1],
  channelGain: [0.96, 1.04],
  offset: [-0.02, 0.02],
} as const;

export interface JitterParams {
  brightness: number;
  contrast: number;
  gain: [number, number, number];
  offset: [number, number, number];
}

/** One pixel (0…1 RGB) through the jitter; `mean` is the image's mean value (the contrast pivot). */
export function jitterPixel(rgb: readonly number[], p: JitterParams, mean: number): [number, number, number] {
  const out: [number, number, number] = [0, 0, 0];
  for (let c = 0; c < 3; c++) {
    const v = ((rgb[c] - mean) * p.contrast + mean) * p.brightness * p.gain[c] + p.offset[c];
    out[c] = Math.min(1, Math.max(0, v));
  }
  return out;
}

export interface AugmentOptions {
  /** probability of softening (blur or down-up resize) (default 0.7) */
  soften?: number;
  /** probability of additive Gaussian noise (default 0.5), σ uniform in [0, maxNoise] ([−1, 1] units) */
  noise?: number;
  maxNoise?: number;
  /** probability of colour jitter (default 0.8) */
  jitter?: number;
}

/** Separable Gaussian blur of an [S, S, 3] image in place (edges clamped). */
export function gaussianBlur(img: Float32Array, size: number, sigma: number): void {
  const r = Math.max(1, Math.ceil(2 * sigma));
  const k = new Float32Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) sum += k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  const tmp = new Float32Array(img.length);
  const clampI = (v: number) => (v < 0 ? 0 : v >= size ? size - 1 : v);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++)
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let i = -r; i <= r; i++) s += k[i + r] * img[(y * size + clampI(x + i)) * 3 + c];
        tmp[(y * size + x) * 3 + c] = s;
      }
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++)
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let i = -r; i <= r; i++) s += k[i + r] * tmp[(clampI(y + i) * size + x) * 3 + c];
        img[(y * size + x) * 3 + c] = s;
      }
}

/** Bilinear resize of an [sh, sw, 3] image to [dh, dw, 3] (half-pixel centres, edges clamped). */
export function resizeBilinear(src: Float32Array, sh: number, sw: number, dh: number, dw: number): Float32Array {
  const out = new Float32Array(dh * dw * 3);
  for (let y = 0; y < dh; y++) {
    const fy = Math.min(sh - 1, Math.max(0, ((y + 0.5) * sh) / dh - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(sh - 1, y0 + 1);
    const wy = fy - y0;
    for (let x = 0; x < dw; x++) {
      const fx = Math.min(sw - 1, Math.max(0, ((x + 0.5) * sw) / dw - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(sw - 1, x0 + 1);
      const wx = fx - x0;
      for (let c = 0; c < 3; c++) {
        const a = src[(y0 * sw + x0) * 3 + c] * (1 - wx) + src[(y0 * sw + x1) * 3 + c] * wx;
        const b = src[(y1 * sw + x0) * 3 + c] * (1 - wx) + src[(y1 * sw + x1) * 3 + c] * wx;
        out[(y * dw + x) * 3 + c] = a * (1 - wy) + b * wy;
      }
    }
  }
  return out;
}

const between = (rng: Rng, [lo, hi]: readonly [number, number]) => lo + (hi - lo) * rng.nextDouble();

/**
 * Augments one [S, S, 3] image in [−1, 1] in place: horizontal flip (½), colour jitter, softening (half
 * Gaussian blur σ ∈ [0.4, 1.3] px, half a resize to 40–80% of the side and back, pre-blurred), noise.
 */
export function augmentImage(img: Float32Array, size: number, rng: Rng, o: AugmentOptions = {}): void {
  const n = size * size;
  if (rng.nextDouble() < 0.5) {
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size >> 1; x++)
        for (let c = 0; c < 3; c++) {
          const a = (y * size + x) * 3 + c;
          const b = (y * size + size - 1 - x) * 3 + c;
          const t = img[a];
          img[a] = img[b];
          img[b] = t;
        }
  }
  if (rng.nextDouble() < (o.jitter ?? 0.8)) {
    const p: JitterParams = {
      brightness: between(rng, JITTER.brightness),
      contrast: between(rng, JITTER.contrast),
      gain: [between(rng, JITTER.channelGain), between(rng, JITTER.channelGain), between(rng, JITTER.channelGain)],
      offset: [between(rng, JITTER.offset), between(rng, JITTER.offset), between(rng, JITTER.offset)],
    };
    let mean = 0;
    for (let i = 0; i < 3 * n; i++) mean += (img[i] + 1) / 2;
    mean /= 3 * n;
    const px = [0, 0, 0];
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < 3; c++) px[c] = (img[3 * i + c] + 1) / 2;
      const j = jitterPixel(px, p, mean);
      for (let c = 0; c < 3; c++) img[3 * i + c] = j[c] * 2 - 1;
    }
  }
  if (rng.nextDouble() < (o.soften ?? 0.7)) {
    if (rng.nextDouble() < 0.5) gaussianBlur(img, size, between(rng, [0.4, 1.3]));
    else {
      const small = Math.max(4, Math.round(size * between(rng, [0.4, 0.8])));
      gaussianBlur(img, size, (0.5 * size) / small);
      const up = resizeBilinear(resizeBilinear(img, size, size, small, small), small, small, size, size);
      img.set(up);
    }
  }
  if (rng.nextDouble() < (o.noise ?? 0.5)) {
    const sigma = (o.maxNoise ?? 0.05) * rng.nextDouble();
    const z = rng.normal([3 * n]);
    for (let i = 0; i < 3 * n; i++) img[i] = Math.min(1, Math.max(-1, img[i] + sigma * z[i]));
  }
}

const byPattern = new Map<PatternName, SubjectIdentity[]>();

/** A train-split identity with a uniformly drawn pattern. */
export function balancedTrainIdentity(rng: Rng): SubjectIdentity {
  const pattern = PATTERNS[rng.int(PATTERNS.length)];
  let pool = byPattern.get(pattern);
  if (!pool) {
    pool = trainIdentities().filter((s) => s.pattern === pattern);
    byPattern.set(pattern, pool);
  }
  return pool[rng.int(pool.length)];
}

export interface ClassifierBatch {
  /** [B, S, S, 3] in [−1, 1], augmented */
  images: Float32Array;
  /** label index per attribute and item */
  labels: Record<WorldAttribute, Int32Array>;
  scenes: RenderedScene[];
}

/** Label indices of scenes, in the classifier's (world vocabulary) label order. */
export function labelIndices(scenes: readonly RenderedScene[]): Record<WorldAttribute, Int32Array> {
  const vocab = worldAttributeLabels();
  const out = {} as Record<WorldAttribute, Int32Array>;
  for (const a of WORLD_ATTRIBUTES) {
    out[a] = Int32Array.from(scenes, (s) => {
      const k = vocab[a].indexOf(sceneAttributeLabels(s.attributes)[a]);
      if (k < 0) throw new Error(`classifier data: ${a} "${sceneAttributeLabels(s.attributes)[a]}" is not in the vocabulary`);
      return k;
    });
  }
  return out;
}

export function classifierBatch(rng: Rng, o: { batch: number; size?: number; augment?: AugmentOptions | false }): ClassifierBatch {
  const size = o.size ?? 64;
  const px = size * size * 3;
  const images = new Float32Array(o.batch * px);
  const scenes: RenderedScene[] = [];
  for (let i = 0; i < o.batch; i++) {
    const r = rng.fork(`item:${i}`);
    const subject = balancedTrainIdentity(r);
    const background = BACKGROUNDS[r.int(BACKGROUNDS.length)];
    const pose = samplePose(subject.cls, r);
    const scene = renderScene({ subject, pose, background }, { size, seed: r.int(0x7fffffff) });
    scenes.push(scene);
    const img = images.subarray(i * px, (i + 1) * px);
    for (let j = 0; j < px; j++) img[j] = scene.image.data[j] / 127.5 - 1;
    if (o.augment !== false) augmentImage(img, size, r.fork('augment'), o.augment ?? {});
  }
  return { images, labels: labelIndices(scenes), scenes };
}
