/**
 * A training signal for the words a text-to-image UNet ignores. Why: on detex-mini the plain ε-loss left
 * the class and pattern words almost unused (the likelihood probe: a wrong pattern word raises the
 * noise-prediction error by ≤ 1.3 %, a wrong background by 11–163 %), because a small subject's shape and
 * texture are a tiny share of the ε-error. This term asks for the probe's own test directly: for a training
 * latent, the caption with its class or pattern word swapped for another value must predict the noise worse,
 * by a relative margin, than the true caption.
 *
 *   L_contrast = mean_i relu((1 + m) · e_true,i − e_swapped,i) / sg(e_true,i)
 *
 * e = per-item ε-MSE on the same noisy latent and timestep; sg = stop-gradient, so the term is a relative gap
 * whatever the timestep's error scale. It is zero once the words matter by the margin, so it cannot push the
 * model to predict wrong captions arbitrarily badly.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../random';
import { article as articleFor } from '../world';
import { CAPTION_ATTRIBUTE_WORDS, CaptionAttribute, findSubjectWords, parseAttributeList } from './caption-attributes';

export type ContrastAttribute = CaptionAttribute;

const CONTRAST_ATTRIBUTES: readonly ContrastAttribute[] = ['class', 'pattern', 'colour'];

/** A comma-separated list of attributes to swap ("class,pattern", "pattern"), checked. */
export function parseContrastAttributes(list: string): ContrastAttribute[] {
  return parseAttributeList(list, CONTRAST_ATTRIBUTES, 'caption contrast: swap');
}

/** The training timesteps on which the contrast acts, both ends included. */
export interface TimestepWindow {
  first: number;
  last: number;
}

/**
 * "250,550" → { first: 250, last: 550 }: whole timesteps of the `trainSteps`-step schedule. Why a window (session
 * 20): the contrast at full weight on every timestep taught the drawn pattern and cost class, colour and DETEX
 * (TRAINING.md runs 31–32), and the likelihood probe's pattern gap is largest at t 250–550, so the term can be kept
 * where the texture is decided and the rest of the trajectory left to the plain loss.
 */
export function parseTimestepWindow(spec: string, trainSteps: number, flag = '--contrast-timesteps'): TimestepWindow {
  const parts = spec.split(',').map((p) => p.trim());
  const [first, last] = parts.map(Number);
  if (parts.length !== 2 || !Number.isInteger(first) || !Number.isInteger(last) || first < 0 || last < first || last >= trainSteps) {
    throw new Error(`${flag}: give FIRST,LAST, whole timesteps with 0 ≤ FIRST ≤ LAST < ${trainSteps}; got '${spec}'`);
  }
  return { first, last };
}

/** The batch items the contrast compares: those with a swapped caption and, given a window, a timestep inside it. */
export function contrastedItems(swapped: ReadonlyArray<string | undefined>, timesteps: readonly number[], window?: TimestepWindow): number[] {
  if (swapped.length !== timesteps.length) throw new Error(`contrastedItems: ${swapped.length} captions against ${timesteps.length} timesteps`);
  return swapped.flatMap((c, i) => (c === undefined || (window && (timesteps[i] < window.first || timesteps[i] > window.last)) ? [] : [i]));
}

const CLASS_WORDS = CAPTION_ATTRIBUTE_WORDS.class;
const COLOUR_WORDS = CAPTION_ATTRIBUTE_WORDS.colour;
/** the pattern words and '' (plain): a swap may add, change or remove the word */
const PATTERN_WORD_LIST: readonly string[] = ['', ...CAPTION_ATTRIBUTE_WORDS.pattern];

/**
 * The world caption ("a photo of a red striped ball with tilted pose in grass background") with its class
 * word, its pattern word (plain = no word) or its colour word replaced by another value drawn from `rng`;
 * undefined when the caption names no class (e.g. the empty caption of classifier-free guidance dropout).
 */
export function swapCaptionWord(caption: string, attr: ContrastAttribute, rng: Rng): string | undefined {
  const found = findSubjectWords(caption);
  if (!found) return undefined;
  const { words } = found;
  const pick = (list: readonly string[], current: string): string => {
    const others = list.filter((w) => w !== current);
    return others[Math.floor(rng.nextDouble() * others.length)];
  };
  if (attr === 'colour') {
    // Why colour too: run 11 swapped only class and pattern, and DETEX's [V] — which sits in the colour word's
    // slot — stopped carrying the subject's colour on that UNet (TRAINING.md, run 11).
    if (found.colour < 0) return undefined;
    words[found.colour] = pick(COLOUR_WORDS, words[found.colour]);
    const before = words[found.colour - 1];
    if (before === 'a' || before === 'an') words[found.colour - 1] = articleFor(words[found.colour]);
  } else if (attr === 'class') {
    words[found.class] = pick(CLASS_WORDS, words[found.class]);
  } else {
    const next = pick(PATTERN_WORD_LIST, found.pattern < 0 ? '' : words[found.pattern]);
    if (found.pattern < 0) words.splice(found.class, 0, next);
    else if (next === '') words.splice(found.pattern, 1);
    else words[found.pattern] = next;
  }
  return words.join(' ');
}

/** x in the forward pass, no gradient through it (tfjs has no stop_gradient op). */
function stopGradient(x: tf.Tensor1D): tf.Tensor1D {
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const input = args[0] as tf.Tensor;
    return { value: tf.clone(input), gradFunc: (dy: tf.Tensor | tf.Tensor[]) => tf.zerosLike(dy as tf.Tensor) };
  });
  return f(x) as tf.Tensor1D;
}

/** The hinge above, averaged over items: errTrue and errSwapped are per-item ε-MSEs [N]. */
export function captionContrastLoss(errTrue: tf.Tensor1D, errSwapped: tf.Tensor1D, margin: number): tf.Scalar {
  if (!(margin >= 0) || !Number.isFinite(margin)) throw new Error(`captionContrastLoss: the margin must be a finite number ≥ 0, got ${margin}`);
  if (errTrue.shape[0] !== errSwapped.shape[0]) {
    throw new Error(`captionContrastLoss: ${errTrue.shape[0]} true-caption errors against ${errSwapped.shape[0]} swapped ones`);
  }
  return tf.tidy(() => {
    const scale = tf.add(stopGradient(errTrue), 1e-8);
    const hinge = tf.relu(tf.sub(tf.mul(1 + margin, errTrue), errSwapped));
    return tf.mean(tf.div(hinge, scale)) as tf.Scalar;
  });
}
