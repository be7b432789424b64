/**
 * Chooses [V]'s initialiser word from the photos themselves (spec: open — the paper initialises [V] from "an
 * existing rare single-token word" and does not say which).
 *
 * Each candidate word w is scored by how well the frozen base model denoises the subject's photos when told
 * "photo of a w {class}": the mean diffusion loss over every photo at a fixed set of timesteps, with the same
 * noise for every candidate, so the candidates are compared on identical draws and only the word differs (the
 * diffusion model used as a zero-shot classifier, Li et al. 2023, "Your Diffusion Model is Secretly a Zero-Shot
 * Classifier"). The lowest loss wins. It needs nothing beyond the models DETEX trains anyway — no label, no
 * text projection — so it works on any Stable Diffusion folder.
 *
 * Why: where [V] starts decides where it ends. On detex-mini a subject whose [V] starts from a rare token can
 * settle on a row that draws another colour; started from a word that already describes the photos, it keeps
 * the subject's colour (models/detex-mini/TRAINING.md).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../random';
import { makeTrainingNoise } from '../schedulers/training-noise';
import { DDIMScheduler } from '../schedulers/ddim';
import { UNet2DConditionModel } from '../models/unet';
import { CLIPTokenizer } from '../models/clip/tokenizer';
import { DetexTextEncoder } from './types';

export interface InitWordScore {
  word: string;
  /** the photos' mean diffusion loss under "photo of a {word} {class}" (inside the mask when there is one) */
  loss: number;
}

export interface InitWordChoice {
  word: string;
  /** every candidate, in the order given */
  scores: InitWordScore[];
}

export interface InitWordModels {
  unet: UNet2DConditionModel;
  scheduler: DDIMScheduler;
  tokenizer: CLIPTokenizer;
  textEncoder: DetexTextEncoder;
}

/**
 * Timesteps the photos are scored at, as fractions of T: spread over the range, skipping both ends, where every
 * prompt predicts the noise about equally well (near 0 the image gives it away, near T nothing is left to see).
 */
export const SCORE_TIMESTEP_FRACTIONS = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8] as const;

/** The prompt a candidate is scored with: DETEX's training prompt with the word in [V]'s place. */
export function initWordPrompt(word: string, classWord: string): string {
  return `photo of a ${word} ${classWord}`;
}

/**
 * `latents`: the photos' clean latents (already × scaling_factor), [N, h, w, c]. Candidates must each be one
 * token (refused otherwise, naming the word). Deterministic in `seed`; leaves no tensor behind.
 */
export function chooseInitWord(
  models: InitWordModels,
  latents: tf.Tensor4D,
  candidates: readonly string[],
  classWord: string,
  seed: number,
  /**
   * [N, h, w, 1] in [0, 1], the subject: the loss is averaged inside it only. Counted over the whole photo, a
   * word that suits the backgrounds (a brown floor, sand) beats the subject's own colour. An empty mask gives
   * the plain mean. (Measured on detex-mini's held-out subjects: the mean inside picks the body colour in 13 of
   * 16 subject × UNet cases, the whole photo in 5 of 8, inside over outside in 11 of 16.)
   */
  mask?: tf.Tensor4D,
): InitWordChoice {
  if (candidates.length === 0) throw new Error('chooseInitWord: no candidate words');
  const { unet, scheduler, tokenizer, textEncoder } = models;
  for (const w of candidates) {
    const pieces = tokenizer.tokenize(w);
    if (pieces.length !== 1) throw new Error(`initialiser candidate "${w}" is ${pieces.length} tokens (${pieces.join(' ')}); each must be a single token`);
  }
  const [n, h, w, c] = latents.shape;
  if (mask && mask.shape.join() !== [n, h, w, 1].join()) throw new Error(`chooseInitWord: mask shape [${mask.shape}] ≠ [${[n, h, w, 1]}] (the latents' N, h, w and 1 channel)`);
  const masked = mask !== undefined && tf.tidy(() => tf.sum(mask).dataSync()[0]) > 0;
  const T = scheduler.config.num_train_timesteps;
  const timesteps = SCORE_TIMESTEP_FRACTIONS.map((f) => Math.min(T - 1, Math.round(f * T)));
  const K = timesteps.length;
  // Every photo at every timestep, one batch: item (i, k) is photo i at timesteps[k].
  const rng = new Rng(seed).fork('init_word');
  const tn = tf.tidy(() => {
    const z0 = tf.reshape(tf.tile(tf.expandDims(latents, 1), [1, K, 1, 1, 1]), [n * K, h, w, c]);
    const noise = tf.tensor4d(rng.normal([n * K, h, w, c]), [n * K, h, w, c]);
    const r = makeTrainingNoise(scheduler, z0, rng, { timesteps: Array.from({ length: n * K }, (_, j) => timesteps[j % K]), noise });
    tf.dispose(r.noise);
    const inside = (masked && mask ? tf.reshape(tf.tile(tf.expandDims(mask, 1), [1, K, 1, 1, 1]), [n * K, h, w, 1]) : tf.ones([n * K, h, w, 1])) as tf.Tensor4D;
    return { noisy: r.noisyLatents as tf.Tensor4D, target: r.target as tf.Tensor4D, t: r.timesteps, inside, count: tf.sum(inside).dataSync()[0] * c };
  });
  try {
    const scores = candidates.map((word) => {
      const ids = tokenizer.call([initWordPrompt(word, classWord)]).inputIds;
      const text = textEncoder.encode(ids, []);
      let sum = 0;
      try {
        // one photo's K items per UNet pass: a Stable Diffusion UNet on n·K items at once would not fit a CPU backend
        for (let i = 0; i < n; i++) {
          const photo = tf.tidy(() => {
            const part = <T extends tf.Tensor>(x: T) => tf.slice(x, i * K, K) as T;
            const pred = unet.forward(part(tn.noisy), tn.t.slice(i * K, (i + 1) * K), tf.tile(text, [K, 1, 1]) as tf.Tensor3D);
            return tf.sum(tf.mul(tf.squaredDifference(pred, part(tn.target)), part(tn.inside)));
          });
          sum += photo.dataSync()[0];
          photo.dispose();
        }
      } finally {
        text.dispose();
      }
      return { word, loss: sum / tn.count };
    });
    const best = scores.reduce((a, b) => (b.loss < a.loss ? b : a));
    return { word: best.word, scores };
  } finally {
    tf.dispose([tn.noisy, tn.target, tn.inside]);
  }
}
