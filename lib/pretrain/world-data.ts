/**
 * Batches of procedural-world scenes (`lib/world`) for pretraining: images in [−1, 1] NHWC, exact masks,
 * captions and attributes. Item i of a batch is rendered from `rng.fork('item:i')`, so an item depends on
 * the step's rng and its index only (not on the batch size or on other draws).
 *
 * Training uses the `train` split only (held-out identities and every identity sharing class+colour+
 * pattern with one are never seen); `evalScenes` renders a fixed held-out set for measurements.
 */
import * as tf from '@tensorflow/tfjs-core';
import { HostTensor, hostTensor, toTf } from '../io/host-tensor';
import { Rng } from '../random';
import { PATTERN_SET_SIZE, patternSet, randomScene, RenderedScene, SceneFilter, Split } from '../world';

export interface WorldBatchOptions {
  batch: number;
  /** image side (default 64) */
  size?: number;
  /** default 'train' */
  split?: Split;
  /** fraction of items posed as close-ups (randomScene's closeUp; default 0) */
  closeUps?: number;
  /** a narrowed world (lib/world/scene-filter.ts; default the whole split) */
  only?: SceneFilter;
  /** draw the batch as pattern sets (lib/world/pattern-sets.ts): items 4k … 4k+3 are one scene under each pattern */
  patternSets?: boolean;
}

export interface WorldBatch {
  /** float32 [B, S, S, 3] in [−1, 1] */
  images: HostTensor;
  /** float32 [B, S, S, 1], 1 on the subject */
  masks: HostTensor;
  captions: string[];
  scenes: RenderedScene[];
  /** with patternSets: float32 [B, S, S, 1], 1 where the item's pattern decides the pixel (PatternSet.regions) */
  patternRegions?: HostTensor;
}

/** Packs rendered scenes into host tensors. */
export function packScenes(scenes: RenderedScene[]): WorldBatch {
  const b = scenes.length;
  const s = scenes[0].image.shape[0];
  const images = new Float32Array(b * s * s * 3);
  const masks = new Float32Array(b * s * s);
  scenes.forEach((sc, i) => {
    const img = sc.image.data;
    for (let j = 0; j < s * s * 3; j++) images[i * s * s * 3 + j] = img[j] / 127.5 - 1;
    const m = sc.mask.data;
    for (let j = 0; j < s * s; j++) masks[i * s * s + j] = m[j];
  });
  return {
    images: hostTensor('float32', [b, s, s, 3], images),
    masks: hostTensor('float32', [b, s, s, 1], masks),
    captions: scenes.map((sc) => sc.caption),
    scenes,
  };
}

export function worldBatch(rng: Rng, o: WorldBatchOptions): WorldBatch {
  const closeUps = o.closeUps ?? 0;
  if (!(closeUps >= 0 && closeUps <= 1)) throw new Error(`world-data: closeUps must be a fraction in [0, 1], got ${o.closeUps}`);
  // Its own fork decides the close-ups, so items keep their identity, background and pose draws whatever the fraction.
  const pick = rng.fork('close-ups');
  if (o.patternSets) return patternSetBatch(rng, o, () => closeUps > 0 && pick.nextDouble() < closeUps);
  const scenes = Array.from({ length: o.batch }, (_, i) => {
    const closeUp = closeUps > 0 && pick.nextDouble() < closeUps;
    return randomScene(rng.fork(`item:${i}`), { split: o.split ?? 'train', size: o.size ?? 64, closeUp, only: o.only });
  });
  return packScenes(scenes);
}

/** Set k is rendered from `rng.fork('set:k')`, with one close-up draw per set (a set shares its pose). */
function patternSetBatch(rng: Rng, o: WorldBatchOptions, closeUp: () => boolean): WorldBatch {
  if (o.batch % PATTERN_SET_SIZE !== 0) throw new Error(`world-data: pattern sets need a batch that is a multiple of ${PATTERN_SET_SIZE}, got ${o.batch}`);
  const sets = Array.from({ length: o.batch / PATTERN_SET_SIZE }, (_, k) =>
    patternSet(rng.fork(`set:${k}`), { split: o.split ?? 'train', size: o.size ?? 64, closeUp: closeUp(), only: o.only }));
  const packed = packScenes(sets.flatMap((s) => s.scenes));
  const s = packed.images.shape[1];
  const regions = new Float32Array(o.batch * s * s);
  sets.flatMap((set) => set.regions).forEach((r, i) => regions.set(r, i * s * s));
  return { ...packed, patternRegions: hostTensor('float32', [o.batch, s, s, 1], regions) };
}

/** A fixed evaluation set (default: held-out identities), the same for a given seed on every machine. */
export function evalScenes(n: number, seed: number, o: { size?: number; split?: Split; only?: SceneFilter } = {}): WorldBatch {
  return worldBatch(new Rng(seed).fork('eval'), { batch: n, size: o.size, split: o.split ?? 'heldout', only: o.only });
}

/** The batch's images as a tensor (caller owns it). */
export function imagesTensor(b: WorldBatch): tf.Tensor4D {
  return toTf(b.images) as tf.Tensor4D;
}
