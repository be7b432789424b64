/**
 * Holds how far the text encoder carries the differences between new-token embeddings while other terms move it
 * (`unet.js --concept-keep`).
 *
 * Why: run 29 kept colour and background's word-swap separation at the frozen encoder's level, and DETEX still
 * personalised worse on it; the same six trained [V] vectors moved its states after "cup" about half as far as
 * the shipped encoder's (`concept-probe.js`, TRAINING.md run 29). A DETEX concept is an off-vocabulary embedding
 * at a token slot, so this keeper draws such embeddings, shaped like trained ones, and asks the trained encoder
 * to spread them at least as far as the frozen one does:
 *
 *   L = Σ_groups relu(s_ref(group) − s(group)),  s = conceptSpread of CONCEPT_COUNT random concepts
 *
 * with two groups per step: [V] varying in "a photo of a [V] <class> in <background words> background", and
 * [B_1] varying (one shared [V]) in "a photo of a [V] <class> in [B_1] background" — DETEX's two main uses. The
 * class and background words walk with the step, and the vectors are fresh each step (seeded by it, so a resumed
 * run draws the same ones).
 */
import * as tf from '@tensorflow/tfjs-core';
import { CLIPTokenizer } from '../models/clip/tokenizer';
import { ConceptVocabulary } from '../detex/composer';
import { DETEX_DEFAULTS, defaultAttributeWord } from '../detex/config';
import { DetexTextEncoder } from '../detex/types';
import { conceptTokenStrings, wordEmbedding } from '../detex/tokens';
import { Rng } from '../random';
import { worldVocabulary } from '../world/vocabulary';
import { conceptSpread, conceptStates } from './concept-spread';
import { relativeSpreadTensor } from './text-separation';

/** A text encoder as DETEX drives it, with the tokenizer its prompts go through. */
export interface ConceptEncoder {
  tokenizer: CLIPTokenizer;
  encoder: DetexTextEncoder;
}

/** Random concepts per group (six, as the probe's six trained subjects). */
export const CONCEPT_COUNT = 6;
/**
 * Norms relative to the initialiser word's row, measured on run 14's six trained concepts (TRAINING.md, run 30):
 * ‖[V] − row‖ was 0.71–0.82 against the row's 0.217 (≈ 3.4×, nearly orthogonal to it, pairwise cosines 0–0.47);
 * the mappers' [P_i]/[B_i] outputs have the row's norm.
 */
export const SUBJECT_DRIFT = 3.4;
export const ATTRIBUTE_NORM = 1;

const TOKENS = conceptTokenStrings('<new1>', 1, true);

function randomDirection(rng: Rng, width: number, norm: number): Float32Array {
  const v = rng.normal([width]);
  const len = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
  return v.map((x) => (x * norm) / len);
}

/** The row DETEX starts [V] from (its default initialiser word), from `e`'s frozen table. */
export function initialiserRow(e: ConceptEncoder): Float32Array {
  const row = wordEmbedding(e.tokenizer, e.encoder, DETEX_DEFAULTS.initWord);
  try {
    return row.dataSync() as Float32Array;
  } finally {
    row.dispose();
  }
}

/**
 * `count` concepts shaped like trained ones around the initialiser row `init`: [V] = init + a random direction of
 * norm SUBJECT_DRIFT·‖init‖; [P_1], [B_1] random of norm ATTRIBUTE_NORM·‖init‖. With `sharedSubject`, every
 * concept's [V] is the first one's (only [P_1]/[B_1] differ).
 */
export function randomConcepts(rng: Rng, count: number, init: Float32Array, classWord: string, sharedSubject = false): ConceptVocabulary[] {
  const width = init.length;
  const initNorm = Math.sqrt(init.reduce((a, x) => a + x * x, 0));
  let firstSubject: Float32Array | undefined;
  return Array.from({ length: count }, () => {
    const drift = randomDirection(rng, width, SUBJECT_DRIFT * initNorm);
    const subject = sharedSubject && firstSubject ? firstSubject : init.map((x, j) => x + drift[j]);
    firstSubject ??= subject;
    const vectors = new Map<string, Float32Array>([
      [TOKENS.subject, subject],
      [TOKENS.pose[0], randomDirection(rng, width, ATTRIBUTE_NORM * initNorm)],
      [TOKENS.background[0], randomDirection(rng, width, ATTRIBUTE_NORM * initNorm)],
    ]);
    return { tokens: TOKENS, classWord, attributeWord: defaultAttributeWord(classWord), vectors };
  });
}

/** The keeper's two (template, concepts) groups at `step`; `seed` fixes the vectors' stream. */
export function conceptKeeperGroups(step: number, init: Float32Array, seed: number): Array<{ name: 'V' | 'B'; template: string; concepts: ConceptVocabulary[] }> {
  if (!Number.isInteger(step) || step < 0) throw new Error(`conceptKeeperGroups: step must be an integer ≥ 0, got ${step}`);
  const voc = worldVocabulary();
  const cls = voc.classes[step % voc.classes.length];
  const background = voc.backgroundWords[voc.backgrounds[(3 * step + 1) % voc.backgrounds.length]];
  const rng = new Rng(seed).fork(`concept-keep:${step}`);
  return [
    { name: 'V', template: `a photo of a {{V}} {{class}} in ${background} background`, concepts: randomConcepts(rng.fork('V'), CONCEPT_COUNT, init, cls) },
    { name: 'B', template: 'a photo of a {{V}} {{class}} in {{B.1}} background', concepts: randomConcepts(rng.fork('B'), CONCEPT_COUNT, init, cls, true) },
  ];
}

/**
 * The keeper's loss at `step` and each group's spread relative to the reference's (for the log); the caller owns
 * the tensors. `init`: the initialiser word's row (DETEX's default `pll`), read from the frozen table.
 */
export function conceptKeeper(
  trained: ConceptEncoder,
  reference: ConceptEncoder,
  init: Float32Array,
  step: number,
  seed: number,
): { loss: tf.Scalar; relative: { V: tf.Scalar; B: tf.Scalar } } {
  const groups = conceptKeeperGroups(step, init, seed);
  const refs = groups.map((g) => conceptSpread(reference.tokenizer, reference.encoder, g.concepts, g.template));
  return tf.tidy(() => {
    const spreads = groups.map((g) => relativeSpreadTensor(conceptStates(trained.tokenizer, trained.encoder, g.concepts, g.template)));
    const loss = tf.addN(spreads.map((s, i) => tf.relu(tf.sub(refs[i], s)))) as tf.Scalar;
    return { loss, relative: { V: tf.div(spreads[0], refs[0]) as tf.Scalar, B: tf.div(spreads[1], refs[1]) as tf.Scalar } };
  });
}
