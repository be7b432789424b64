/**
 * How much the UNet's conditioning moves when one attribute word of a caption changes: for each attribute, the
 * captions of a few base scenes with that word swapped through every value, and the relative distance between
 * their last_hidden_states over all 77 positions, ‖h_i − h_j‖ / rms(‖h_i‖, ‖h_j‖), averaged over pairs.
 * A word the encoder has learnt to ignore moves it little, leaving the UNet little to draw it from (session 9: pattern).
 * "plain" has no word (swapping to it shifts every later position), so only the worded patterns take part.
 */
import * as tf from '@tensorflow/tfjs-core';
import { fullCaption } from '../world/caption';
import { SubjectIdentity } from '../world/catalogue';
import { BackgroundKind } from '../world/backgrounds';
import { worldVocabulary } from '../world/vocabulary';
import { ClassName } from '../world/subjects';
import { ColourName } from '../world/palette';
import { PatternName } from '../world/patterns';

export type SeparatedAttribute = 'class' | 'colour' | 'pattern' | 'background';
export const SEPARATED_ATTRIBUTES: readonly SeparatedAttribute[] = ['class', 'colour', 'pattern', 'background'];

/** Mean pairwise relative distance between the items of `h` [n, positions, width] (n ≥ 2). */
export function relativeSpread(h: tf.Tensor3D): number {
  const t = relativeSpreadTensor(h, 0);
  try {
    return t.dataSync()[0];
  } finally {
    t.dispose();
  }
}

/**
 * The same as a scalar tensor (the caller owns it); `eps` inside the square root keeps the gradient finite where
 * two items coincide (the diagonal, masked out), for the keeper below.
 */
export function relativeSpreadTensor(h: tf.Tensor3D, eps = 1e-8): tf.Scalar {
  const n = h.shape[0];
  if (n < 2) throw new Error(`relativeSpread: needs at least 2 captions, got ${n}`);
  return tf.tidy(() => {
    const flat = tf.reshape(h, [n, -1]);
    const sq = tf.sum(tf.square(flat), 1);
    const gram = tf.matMul(flat, flat, false, true);
    // ‖a − b‖² = ‖a‖² + ‖b‖² − 2a·b, against the mean squared norm of the pair
    const sum = tf.add(tf.expandDims(sq, 1), tf.expandDims(sq, 0));
    const rel = tf.sqrt(tf.add(tf.div(tf.relu(tf.sub(sum, tf.mul(2, gram))), tf.div(sum, 2)), eps));
    const upper = new Float32Array(n * n);
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) upper[i * n + j] = 1;
    return tf.div(tf.sum(tf.mul(rel, tf.tensor2d(upper, [n, n]))), (n * (n - 1)) / 2) as tf.Scalar;
  });
}

/**
 * Captions of `bases` base scenes (numbered from `first`), one list per attribute, each with that attribute's word
 * run through all values.
 */
export function separationCaptions(bases = 4, first = 0): Record<SeparatedAttribute, string[][]> {
  const voc = worldVocabulary();
  const patterns = voc.patterns.filter((p) => voc.patternWords[p] !== '') as PatternName[];
  const out: Record<SeparatedAttribute, string[][]> = { class: [], colour: [], pattern: [], background: [] };
  for (let k = first; k < first + bases; k++) {
    const base = {
      cls: voc.classes[k % voc.classes.length],
      colour: voc.colours[(3 * k + 1) % voc.colours.length] as ColourName,
      pattern: patterns[k % patterns.length],
      background: voc.backgrounds[(5 * k + 2) % voc.backgrounds.length] as BackgroundKind,
      pose: voc.poseWords[k % voc.poseWords.length],
    };
    const caption = (o: Partial<typeof base>) => {
      const b = { ...base, ...o };
      const s: SubjectIdentity = { cls: b.cls as ClassName, colour: b.colour, pattern: b.pattern, secondary: 'none', detail: '' };
      return fullCaption(s, b.pose, b.background);
    };
    out.class.push(voc.classes.map((cls) => caption({ cls })));
    out.colour.push(voc.colours.map((colour) => caption({ colour: colour as ColourName })));
    out.pattern.push(patterns.map((pattern) => caption({ pattern })));
    out.background.push(voc.backgrounds.map((background) => caption({ background: background as BackgroundKind })));
  }
  return out;
}

/** The separation of each attribute under `embed` (captions → [n, 77, width], owned by the caller). */
export function attributeSeparation(embed: (captions: string[]) => tf.Tensor3D, bases = 4, first = 0): Record<SeparatedAttribute, number> {
  const out = {} as Record<SeparatedAttribute, number>;
  for (const [attr, groups] of Object.entries(separationCaptions(bases, first)) as [SeparatedAttribute, string[][]][]) {
    let total = 0;
    for (const captions of groups) {
      const h = embed(captions);
      try {
        total += relativeSpread(h);
      } finally {
        h.dispose();
      }
    }
    out[attr] = total / groups.length;
  }
  return out;
}

/**
 * The training counterpart of the measurement (`unet.js --text-separate τ`): for caption pairs differing in one
 * word, relu(τ − ‖h_true − h_swapped‖ / ‖h_true‖) averaged over pairs. Reaching τ ≈ 0.5 over 77 positions means
 * the word's information must spread to the positions after it (one position alone moves the whole by ~0.16),
 * where the UNet can read it, as the encoder already does for colour and class.
 */
export function separationHinge(trueStates: tf.Tensor3D, swappedStates: tf.Tensor3D, tau: number): tf.Scalar {
  if (trueStates.shape.join() !== swappedStates.shape.join()) {
    throw new Error(`separationHinge: states of shape [${trueStates.shape}] against swapped [${swappedStates.shape}]`);
  }
  if (!(tau >= 0) || !Number.isFinite(tau)) throw new Error(`separationHinge: τ must be a finite number ≥ 0, got ${tau}`);
  return tf.tidy(() => {
    const n = trueStates.shape[0];
    const a = tf.reshape(trueStates, [n, -1]);
    const b = tf.reshape(swappedStates, [n, -1]);
    const rel = tf.div(tf.norm(tf.sub(a, b), 'euclidean', 1), tf.add(tf.norm(a, 'euclidean', 1), 1e-8));
    return tf.mean(tf.relu(tf.sub(tau, rel))) as tf.Scalar;
  });
}

/**
 * Base scenes of the keeper's captions: after the measurement's 0–3, so the logged separation stays a check the
 * keeper was not trained on.
 */
export const KEEPER_FIRST_BASE = 4;
/** How many base scenes the keeper's captions come from per step (two: ~58 captions through the encoder). */
export const KEEPER_BASES = 2;
/**
 * How many base scenes the keeper walks through, KEEPER_BASES per step. Why a walk: run 28 held two fixed scenes
 * above their reference while colour's measured separation (scenes 0–3) fell 0.94 → 0.79; two scenes are too few
 * to stand for other captions.
 */
export const KEEPER_POOL = 64;

/** The first base scene of the keeper's captions at `step` (its KEEPER_BASES scenes follow it). */
export function keeperFirstScene(step: number): number {
  if (!Number.isInteger(step) || step < 0) throw new Error(`keeperFirstScene: step must be an integer ≥ 0, got ${step}`);
  return KEEPER_FIRST_BASE + ((step * KEEPER_BASES) % KEEPER_POOL);
}

/**
 * `relativeSpread` of a fixed encoder's states, remembered per caption group. The keeper's reference encoder is
 * frozen and its walk returns to the same KEEPER_POOL scenes, so each group needs measuring once, not every step.
 */
export function frozenSpread(embed: (captions: string[]) => tf.Tensor3D): (captions: string[]) => number {
  const seen = new Map<string, number>();
  return (captions) => {
    const key = captions.join('\n');
    let spread = seen.get(key);
    if (spread === undefined) {
      spread = tf.tidy(() => relativeSpread(embed(captions)));
      seen.set(key, spread);
    }
    return spread;
  };
}

/**
 * Holds attributes' separation at a reference encoder's level while other terms move the encoder (`unet.js
 * --text-keep`). Why: run 26's pattern terms raised the pattern separation 0.11 → 0.80 while background fell
 * 0.85 → 0.46 and colour 0.94 → 0.82, and DETEX's [B_i] and [V], which live in those phrases, stopped working
 * (TRAINING.md, run 27). The anchor holds only the pooled embedding; this holds what the UNet reads of the
 * vocabulary's words. It does not hold what DETEX needs: run 29 kept colour and background at or above the frozen
 * encoder's separation and DETEX still failed (TRAINING.md, run 29) — a learned concept token is not a word swap.
 *
 *   L = Σ_attr mean_groups relu(s_ref(group) − s(group)),  s = the relative spread of one caption group
 *
 * over the groups of KEEPER_BASES base scenes from `firstScene` (`keeperFirstScene(step)`), s_ref measured on the
 * same group by the frozen reference encoder (`referenceSpread`, a `frozenSpread`). Per group, not on the mean, so no scene pays for another. Zero while
 * every group is at least as separated as it was.
 */
export function separationKeeper(
  embed: (captions: string[]) => tf.Tensor3D,
  referenceSpread: (captions: string[]) => number,
  attrs: readonly SeparatedAttribute[],
  firstScene: number,
): { loss: tf.Scalar; separation: Record<SeparatedAttribute, tf.Scalar>; reference: Record<SeparatedAttribute, number> } {
  if (attrs.length === 0) throw new Error('separationKeeper: no attributes to keep');
  const groups = separationCaptions(KEEPER_BASES, firstScene);
  const refs = Object.fromEntries(attrs.map((attr) => [attr, groups[attr].map(referenceSpread)])) as Record<SeparatedAttribute, number[]>;
  const referenceMean = Object.fromEntries(attrs.map((attr) => [attr, refs[attr].reduce((a, b) => a + b, 0) / refs[attr].length])) as Record<SeparatedAttribute, number>;
  return tf.tidy(() => {
    const separation = {} as Record<SeparatedAttribute, tf.Scalar>;
    const terms = attrs.map((attr) => {
      const spreads = groups[attr].map((captions) => relativeSpreadTensor(embed(captions)));
      separation[attr] = tf.div(tf.addN(spreads), spreads.length) as tf.Scalar;
      const shortfalls = spreads.map((s, g) => tf.relu(tf.sub(refs[attr][g], s)));
      return tf.div(tf.addN(shortfalls), shortfalls.length);
    });
    return { loss: tf.addN(terms) as tf.Scalar, separation, reference: referenceMean };
  });
}
