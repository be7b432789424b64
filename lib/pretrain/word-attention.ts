/**
 * An attention term that makes the UNet look at an attribute word where the subject is. Why: on detex-mini the
 * cross-attention over the subject's pixels puts 0.8–4 % of its mass on the pattern word (session 11, shipped run
 * 14 at t = 500) and most on the padding and the words after it, whose hidden states carry the pattern word only
 * faintly (relative change 0.10–0.24 between pattern words); the UNet draws the same texture for "striped",
 * "dotted" and "checked". DETEX's own attention loss pulls [P_i] onto the subject mask; this is the same idea for
 * pretraining: a hinge asks each captured layer to put at least `target` of the subject's attention on the word,
 * after which the diffusion loss can learn to use what it reads.
 *
 *   L = mean over items with the word and layers of relu(target − Σ_subject a_word · area / Σ_subject area)
 *
 * a_word = the head-mean attention probability of the word's tokens (summed); area = the mask's share of each map
 * pixel. Zero once the word gets its share, so it cannot pull every query onto one token.
 *
 * Measured (TRAINING.md, run 16): the share rose to 0.3 and the word then changed the drawing, but not into its
 * pattern, and DETEX's [V] stopped carrying the subject's colour — a base model trained with it must pass the gate.
 */
import * as tf from '@tensorflow/tfjs-core';
import { AttentionMaps } from '../models/unet/attention-capture';
import { CaptionAttribute, findSubjectWords, parseAttributeList } from './caption-attributes';
import { maskOnGrid } from './mask-grid';

export type AttendedAttribute = CaptionAttribute;

const ATTENDED: readonly AttendedAttribute[] = ['pattern', 'class', 'colour'];

/** A comma-separated list of attributes whose words are attended ("pattern", "pattern,class"), checked. */
export function parseAttendedAttributes(list: string): AttendedAttribute[] {
  return parseAttributeList(list, ATTENDED, 'word attention: attend');
}

/** ids of one word alone: the tokenizer's ids between its start and end tokens. */
export type WordIds = (word: string) => readonly number[];

/**
 * Token positions of the subject's `attr` word (findSubjectWords) in each caption's ids; empty when the caption
 * has none, e.g. a plain subject's pattern or the dropped caption.
 */
export function attributeTokenPositions(captions: readonly string[], ids: readonly (readonly number[])[], attr: AttendedAttribute, wordIds: WordIds): number[][] {
  return captions.map((caption, i) => {
    const found = findSubjectWords(caption);
    const at = found ? found[attr] : -1;
    if (at < 0) return [];
    const word = found!.words[at];
    const piece = wordIds(word);
    const seq = ids[i];
    for (let s = 1; s + piece.length <= seq.length; s++) {
      if (piece.every((id, k) => seq[s + k] === id)) return piece.map((_, k) => s + k);
    }
    throw new Error(`word attention: "${word}" (ids ${piece.join(' ')}) is not in the tokens of "${caption}"`);
  });
}

/** The term and the mean attended share (for the log) over items that have a word; undefined when none has. */
export function wordAttentionLoss(
  maps: AttentionMaps,
  positions: readonly (readonly number[])[],
  masks: tf.Tensor4D,
  target: number,
): { loss: tf.Scalar; share: tf.Scalar } | undefined {
  const layers = Object.values(maps);
  if (layers.length === 0) throw new Error('word attention: no cross-attention maps were captured');
  const b = positions.length;
  const tokens = layers[0].shape[3];
  const itemsWithWord = positions.map((p): number => (p.length > 0 ? 1 : 0));
  const count = itemsWithWord.reduce((a, c) => a + c, 0);
  if (count === 0) return undefined;
  if (masks.shape[0] !== b) throw new Error(`word attention: ${b} captions but ${masks.shape[0]} masks`);
  return tf.tidy(() => {
    const sel = new Float32Array(b * tokens);
    positions.forEach((p, i) => p.forEach((t) => {
      if (t >= tokens) throw new Error(`word attention: token position ${t} is outside the maps' ${tokens} keys`);
      sel[i * tokens + t] = 1;
    }));
    const selector = tf.tensor4d(sel, [b, 1, 1, tokens]);
    const has = tf.tensor1d(itemsWithWord);
    const shares = layers.map((map) => {
      const [, h, w] = map.shape;
      const area = maskOnGrid(masks, h, w, 'word attention');
      const mass = tf.sum(tf.mul(map, selector), 3, true);
      return tf.div(tf.sum(tf.mul(mass, area), [1, 2, 3]), tf.add(tf.sum(area, [1, 2, 3]), 1e-6)) as tf.Tensor1D;
    });
    const share = tf.stack(shares) as tf.Tensor2D; // [layers, B]
    const hinge = tf.relu(tf.sub(target, share));
    const perItem = tf.mean(hinge, 0);
    const loss = tf.div(tf.sum(tf.mul(perItem, has)), count) as tf.Scalar;
    const meanShare = tf.div(tf.sum(tf.mul(tf.mean(share, 0), has)), count) as tf.Scalar;
    return { loss, share: meanShare };
  });
}
