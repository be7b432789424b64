/**
 * What a text-to-image UNet *knows* about each attribute, apart from whether its samples show it: a
 * diffusion classifier (Li et al., "Your Diffusion Model is Secretly a Zero-Shot Classifier", 2023).
 * For a real scene, its caption is rewritten with every value of one attribute (class, colour, pattern,
 * background); the value whose caption gives the lowest ε-prediction error on the same noised latents
 * (fixed timesteps, fixed noise) is the model's answer. The relative gap — how much worse the wrong
 * captions predict the noise than the right one — says how strongly the conditioning is used, per
 * timestep. Sampling accuracy (t2i-eval) can be low while this is high: the model has the knowledge but
 * its samples do not commit to it; near-zero gaps mean the words are ignored altogether.
 */
import * as tf from '@tensorflow/tfjs-core';
import { toTf } from '../io/host-tensor';
import { UNet2DConditionModel } from '../models/unet/unet';
import { AutoencoderKL } from '../models/vae/autoencoder-kl';
import { DDIMScheduler } from '../schedulers/ddim';
import { fullCaption, RenderedScene, SceneFilter, worldVocabulary } from '../world';
import { TextConditioner } from './text-cond';
import { evalScenes, packScenes } from './world-data';

export type ProbedAttribute = 'class' | 'colour' | 'pattern' | 'background';
export const PROBED_ATTRIBUTES: readonly ProbedAttribute[] = ['class', 'colour', 'pattern', 'background'];

/** ε-prediction for a batch of noisy latents, one timestep and one caption per item; the caller disposes. */
export type NoisePredictor = (noisy: tf.Tensor4D, timesteps: number[], captions: string[]) => tf.Tensor4D;

export interface AttributeLikelihood {
  /** share of scenes whose true value has the lowest error summed over the timesteps */
  accuracy: number;
  chance: number;
  perTimestep: { timestep: number; accuracy: number; relativeGap: number }[];
}

export interface LikelihoodProbeOptions {
  /** default 100, 250, 400, 550, 700, 850 */
  timesteps?: readonly number[];
  /** seeds the noise (default 5) */
  seed?: number;
  attributes?: readonly ProbedAttribute[];
}

const DEFAULT_TIMESTEPS = [100, 250, 400, 550, 700, 850];

/** Every value an attribute can take in the world, and the scene's caption with it swapped in. */
function alternatives(scene: RenderedScene, attr: ProbedAttribute): { captions: string[]; trueIndex: number } {
  const voc = worldVocabulary();
  const s = scene.spec.subject;
  const pose = scene.attributes.pose[0];
  const values: readonly string[] = attr === 'class' ? voc.classes : attr === 'colour' ? voc.colours : attr === 'pattern' ? voc.patterns : voc.backgrounds;
  const truth = attr === 'class' ? s.cls : attr === 'colour' ? s.colour : attr === 'pattern' ? s.pattern : scene.spec.background;
  const captions = values.map((v) => {
    if (attr === 'background') return fullCaption(s, pose, v as typeof scene.spec.background);
    const key = attr === 'class' ? 'cls' : attr;
    return fullCaption({ ...s, [key]: v }, pose, scene.spec.background);
  });
  const trueIndex = values.indexOf(truth);
  if (trueIndex < 0) throw new Error(`likelihood probe: scene ${scene.subjectId} has ${attr} '${truth}', not in the world vocabulary`);
  return { captions, trueIndex };
}

function argmin(xs: ArrayLike<number>): number {
  let k = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] < xs[k]) k = i;
  return k;
}

/**
 * `latents` [N, h, w, c] are the scenes' clean latents (VAE mean × scaling factor), in scene order.
 * Costs N × timesteps × (number of values) UNet evaluations per attribute, batched per scene and timestep.
 */
export function probeAttributeLikelihood(
  predict: NoisePredictor,
  scheduler: DDIMScheduler,
  latents: tf.Tensor4D,
  scenes: readonly RenderedScene[],
  opts: LikelihoodProbeOptions = {},
): Record<ProbedAttribute, AttributeLikelihood> {
  if (latents.shape[0] !== scenes.length) throw new Error(`likelihood probe: ${latents.shape[0]} latents for ${scenes.length} scenes`);
  const timesteps = opts.timesteps ?? DEFAULT_TIMESTEPS;
  const T = scheduler.config.num_train_timesteps;
  for (const t of timesteps) if (!Number.isInteger(t) || t < 0 || t >= T) throw new Error(`likelihood probe: timestep ${t} outside [0, ${T})`);
  const n = scenes.length;
  const [, h, w, c] = latents.shape;
  // One fixed noise per (scene, timestep), shared by every caption: only the words differ between candidates.
  const noise = tf.randomNormal([timesteps.length, n, h, w, c], 0, 1, 'float32', opts.seed ?? 5);
  const out = {} as Record<ProbedAttribute, AttributeLikelihood>;
  try {
    for (const attr of opts.attributes ?? PROBED_ATTRIBUTES) {
      const perT = timesteps.map(() => ({ correct: 0, gap: 0 }));
      let correct = 0;
      let chance = 0;
      scenes.forEach((scene, i) => {
        const { captions, trueIndex } = alternatives(scene, attr);
        const k = captions.length;
        chance = 1 / k;
        const total = new Float64Array(k);
        timesteps.forEach((t, j) => {
          const errs = tf.tidy(() => {
            const x0 = tf.slice(latents, [i, 0, 0, 0], [1, h, w, c]);
            const eps = tf.reshape(tf.slice(noise, [j, i, 0, 0, 0], [1, 1, h, w, c]), [1, h, w, c]);
            const noisy = tf.tile(scheduler.addNoise(x0, eps, [t]), [k, 1, 1, 1]) as tf.Tensor4D;
            const pred = predict(noisy, Array(k).fill(t), captions);
            return tf.mean(tf.squaredDifference(pred, tf.tile(eps, [k, 1, 1, 1])), [1, 2, 3]).dataSync();
          });
          if (argmin(errs) === trueIndex) perT[j].correct++;
          let wrong = 0;
          errs.forEach((e, v) => {
            total[v] += e;
            if (v !== trueIndex) wrong += e;
          });
          perT[j].gap += (wrong / (k - 1) - errs[trueIndex]) / Math.max(errs[trueIndex], 1e-12);
        });
        if (argmin(total) === trueIndex) correct++;
      });
      out[attr] = {
        accuracy: correct / n,
        chance,
        perTimestep: timesteps.map((t, j) => ({ timestep: t, accuracy: perT[j].correct / n, relativeGap: perT[j].gap / n })),
      };
    }
  } finally {
    noise.dispose();
  }
  return out;
}

/**
 * The probe on a text-to-image model: `n` train-split renders (a fixed set per seed), encoded by its VAE
 * (latent mean), noise predicted by its UNet under its text encoder. Tensors it makes are disposed.
 */
export function probeModelLikelihood(
  m: { unet: UNet2DConditionModel; vae: AutoencoderKL; text: TextConditioner; scheduler: DDIMScheduler },
  n: number,
  opts: LikelihoodProbeOptions & { sceneSeed?: number; only?: SceneFilter } = {},
): Record<ProbedAttribute, AttributeLikelihood> {
  const scenes = evalScenes(n, opts.sceneSeed ?? 99, { split: 'train', only: opts.only }).scenes;
  const latents = tf.tidy(() => m.vae.encodeLatents(toTf(packScenes(scenes).images) as tf.Tensor4D));
  try {
    return probeAttributeLikelihood((x, t, captions) => tf.tidy(() => m.unet.forward(x, t, m.text.embed(captions))), m.scheduler, latents, scenes, opts);
  } finally {
    latents.dispose();
  }
}

export function formatLikelihood(r: Partial<Record<ProbedAttribute, AttributeLikelihood>>): string[] {
  return Object.entries(r).map(([attr, a]) =>
    `${attr.padEnd(10)} ${a!.accuracy.toFixed(2)} (chance ${a!.chance.toFixed(2)}); per timestep accuracy / error gap: ` +
    a!.perTimestep.map((p) => `${p.timestep} ${p.accuracy.toFixed(2)} / ${(100 * p.relativeGap).toFixed(2)}%`).join(', '),
  );
}
