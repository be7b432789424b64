/**
 * The world caption's attribute words that pretraining terms act on (the caption contrast swaps them, the word
 * attention points the subject at them), and the checked comma-separated lists that pick them on the command line.
 */
import { worldVocabulary } from '../world';

export type CaptionAttribute = 'class' | 'pattern' | 'colour';

const VOCAB = worldVocabulary();

/** Each attribute's caption words; a plain subject has no pattern word. */
export const CAPTION_ATTRIBUTE_WORDS: Readonly<Record<CaptionAttribute, readonly string[]>> = {
  class: VOCAB.classes,
  pattern: VOCAB.patterns.map((p) => VOCAB.patternWords[p]).filter((w) => w !== ''),
  colour: VOCAB.colours,
};

/**
 * "class,pattern" → ['class', 'pattern'], each of `allowed`, deduplicated; `what` begins the error
 * ("caption contrast: swap" → "caption contrast: swap one or more of …; got '…'").
 */
export function parseAttributeList<A extends CaptionAttribute>(list: string, allowed: readonly A[], what: string): A[] {
  const names = list.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const bad = names.filter((s) => !(allowed as readonly string[]).includes(s));
  if (names.length === 0 || bad.length > 0) throw new Error(`${what} one or more of ${allowed.join(', ')}; got '${list}'`);
  return [...new Set(names)] as A[];
}
