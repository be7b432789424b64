/**
 * Image–text pairs from the procedural world for detex-mini's contrastive pretraining, and the zero-shot
 * prompts. The training texts mix the world's full / short / class captions with one-attribute prompts
 * ("a photo of a red object", "a photo in grass background") so every attribute gets its own text anchor:
 * zero-shot accuracy per attribute is measured with exactly those prompts.
 */
import { Rng } from '../random';
import {
  BACKGROUNDS, BACKGROUND_WORDS, BackgroundKind, CLASSES, CLASS_DEFS, PATTERN_WORDS, RenderedScene, Split, SubjectIdentity,
  renderScene, samplePose, splitOf, trainIdentities, worldVocabulary,
} from '../world';
import { worldBatch } from './world-data';
import { MINI_PREPROCESSOR } from './clip-config';

export type Attribute = 'class' | 'colour' | 'pattern' | 'background';
export const ATTRIBUTES: readonly Attribute[] = ['class', 'colour', 'pattern', 'background'];

/** The one-attribute prompt for a value (the zero-shot classifier's text, also used in training). */
export function attributePrompt(attr: Attribute, value: string): string {
  switch (attr) {
    case 'class':
      return `a photo of a ${value}`;
    case 'colour':
      return `a photo of a ${value} object`;
    case 'pattern':
      return `a photo of a ${PATTERN_WORDS[value as keyof typeof PATTERN_WORDS] || 'plain'} object`;
    case 'background':
      return `a photo in ${BACKGROUND_WORDS[value as BackgroundKind]} background`;
  }
}

/** Every value an attribute takes in the world. */
export function attributeValues(attr: Attribute): string[] {
  const v = worldVocabulary();
  return { class: [...v.classes], colour: [...v.colours], pattern: [...v.patterns], background: [...v.backgrounds] }[attr];
}

/** Every text the pretraining can produce or the evaluation asks (for the token sub-table's rows). */
export function allTextWords(): string[] {
  const v = worldVocabulary();
  const words = new Set<string>(['a', 'an', 'photo', 'of', 'with', 'pose', 'in', 'background', 'object', 'plain']);
  for (const w of [...v.classes, ...v.colours, ...Object.values(v.patternWords), ...Object.values(v.backgroundWords), ...v.poseWords]) {
    for (const part of w.split(' ')) if (part) words.add(part);
  }
  return [...words].sort();
}

/**
 * The text paired with a render: full caption half the time (what the UNet is conditioned on), otherwise the
 * short or class caption or one attribute prompt.
 */
export function trainingText(scene: RenderedScene, rng: Rng): string {
  const u = rng.nextDouble();
  if (u < 0.5) return scene.caption;
  if (u < 0.62) return scene.shortCaption;
  if (u < 0.68) return scene.classCaption;
  const attr = ATTRIBUTES[rng.int(ATTRIBUTES.length)];
  const a = scene.attributes;
  return attributePrompt(attr, { class: a.class, colour: a.colour, pattern: a.pattern, background: a.background }[attr]);
}

/** uint8 HWC renders → CLIP-normalised float32 NHWC (rescale 1/255, then (x − mean)/std, as the processor). */
export function normalizePixels(scenes: readonly RenderedScene[]): Float32Array {
  const { image_mean: mean, image_std: std } = MINI_PREPROCESSOR;
  const size = scenes[0].image.shape[0];
  const out = new Float32Array(scenes.length * size * size * 3);
  scenes.forEach((s, b) => {
    const src = s.image.data as Uint8Array;
    const base = b * size * size * 3;
    for (let i = 0; i < src.length; i++) {
      const c = i % 3;
      out[base + i] = (Math.fround(src[i] / 255) - mean[c]) / std[c];
    }
  });
  return out;
}

export interface ClipBatch {
  scenes: RenderedScene[];
  /** [B, 64, 64, 3] CLIP-normalised */
  pixels: Float32Array;
  texts: string[];
}

/**
 * Hard negatives: groups of `k` renders sharing body colour, pattern and background and differing in class
 * (train-split identities only). Why: in random batches colour + background tell every pair apart, so the
 * image tower never had to learn shape (class zero-shot stayed at chance on train and held-out renders).
 */
export function classContrastScenes(rng: Rng, groups: number, k: number, imageSize: number): RenderedScene[] {
  const pool = trainIdentities();
  const out: RenderedScene[] = [];
  for (let g = 0; g < groups; g++) {
    const grng = rng.fork(`group:${g}`);
    const base = pool[grng.int(pool.length)];
    const background: BackgroundKind = BACKGROUNDS[grng.int(BACKGROUNDS.length)];
    const classes = [...CLASSES].filter((c) => c !== base.cls);
    const picked = [base.cls];
    while (picked.length < k && classes.length > 0) {
      const c = classes.splice(grng.int(classes.length), 1)[0];
      const details = CLASS_DEFS[c].details;
      const id: SubjectIdentity = { ...base, cls: c, detail: details[grng.int(details.length)] };
      if (splitOf(id) === 'train') picked.push(c);
    }
    for (const c of picked) {
      const details = CLASS_DEFS[c].details;
      const subject: SubjectIdentity = c === base.cls ? base : { ...base, cls: c, detail: details[grng.int(details.length)] };
      if (splitOf(subject) !== 'train') continue;
      out.push(renderScene({ subject, pose: samplePose(c, grng), background }, { size: imageSize, seed: grng.int(0x7fffffff) }));
    }
  }
  return out;
}

/**
 * B fresh renders of the split (the shared world batches) with their texts; deterministic in `rng`. A share
 * `hardShare` of them comes as class-contrast groups (`classContrastScenes`).
 */
export function clipBatch(rng: Rng, size: number, split: Split = 'train', imageSize = 64, hardShare = 0): ClipBatch {
  const hard = split === 'train' && hardShare > 0 ? classContrastScenes(rng.fork('hard'), Math.round((size * hardShare) / 4), 4, imageSize).slice(0, size) : [];
  const random = hard.length < size ? worldBatch(rng.fork('scenes'), { batch: size - hard.length, size: imageSize, split }).scenes : [];
  const scenes = [...random, ...hard];
  const textRng = rng.fork('texts');
  return { scenes, pixels: normalizePixels(scenes), texts: scenes.map((s) => trainingText(s, textRng)) };
}
