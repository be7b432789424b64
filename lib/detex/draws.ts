/**
 * The random draws of a training step, as a pure function of (seed, step): which image each item uses, whether
 * it is the background-filtered version (joint training, probability γ), whether it is flipped (probability ½
 * with `flip`), its timestep t ~ U{0..T−1}, its noise ε and the noise of its latent sample z0 = μ + σ·n.
 * Each comes from its own stream forked off the seed by (step, item) labels, so the draws of step s do not depend
 * on what was drawn before (a resumed run replays them) nor on the micro-batch split.
 */
import { Rng } from '../random';

export interface DrawContext {
  seed: number;
  batchSize: number;
  /** γ */
  gamma: number;
  /** random horizontal flips on/off */
  flip: boolean;
  /** training images N */
  numImages: number;
  /** class images (0 = no prior preservation) */
  numPrior: number;
  /** [h, w, c] of a latent */
  latentShape: [number, number, number];
  /** the scheduler's num_train_timesteps */
  numTrainTimesteps: number;
}

/** Everything an item of one step needs. */
export interface ItemDraw {
  /** 0-based index of the training (or class) image */
  image: number;
  /** trained on x·m + blank·(1−m) with the background-filtered prompt (never for class images) */
  filtered: boolean;
  /** horizontally flipped, image and mask (never for class images) */
  flip: boolean;
  t: number;
  /** ε, [h, w, c] row-major */
  noise: Float32Array;
  /** n of z0 = μ + σ·n, [h, w, c] */
  zNoise: Float32Array;
}

/** The probability of a flip when flips are on. */
export const FLIP_PROBABILITY = 0.5;

/** Seeded permutation of 0..n−1 for `epoch` of a stream (each epoch sees every image once). */
function permutation(root: Rng, stream: string, epoch: number, n: number): number[] {
  const r = root.fork(stream).fork(epoch);
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** Item `item` (0-based, < batchSize) of step `s` (1-based); `prior` = the class-image item of that slot. */
export function itemDraw(ctx: DrawContext, s: number, item: number, prior: boolean, root: Rng = new Rng(ctx.seed)): ItemDraw {
  const count = prior ? ctx.numPrior : ctx.numImages;
  if (count <= 0) throw new Error(`itemDraw: no ${prior ? 'class' : 'training'} images to draw from`);
  if (!(Number.isInteger(s) && s >= 1)) throw new Error(`itemDraw: step ${s} must be an integer ≥ 1`);
  const k = (s - 1) * ctx.batchSize + item;
  const perm = permutation(root, prior ? 'prior-order' : 'order', Math.floor(k / count), count);
  const r = root.fork(prior ? 'prior-item' : 'item').fork(s).fork(item);
  const filtered = !prior && ctx.gamma > 0 && r.fork('gamma').nextDouble() < ctx.gamma;
  const flip = !prior && ctx.flip && r.fork('flip').nextDouble() < FLIP_PROBABILITY;
  return {
    image: perm[k % count],
    filtered,
    flip,
    t: r.fork('t').int(ctx.numTrainTimesteps),
    noise: r.fork('noise').normal(ctx.latentShape),
    zNoise: r.fork('latent').normal(ctx.latentShape),
  };
}

/** All draws of step `s`: the instance items and (with class images) the prior items, in batch order. */
export function stepDraws(ctx: DrawContext, s: number): { items: ItemDraw[]; prior: ItemDraw[] } {
  const root = new Rng(ctx.seed);
  const idx = Array.from({ length: ctx.batchSize }, (_, i) => i);
  return {
    items: idx.map((i) => itemDraw(ctx, s, i, false, root)),
    prior: ctx.numPrior > 0 ? idx.map((i) => itemDraw(ctx, s, i, true, root)) : [],
  };
}
