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
 * "class,pattern" → ['class', 'pattern'], each of `allowed`; `what` begins the error ("caption contrast: swap" →
 * "caption contrast: swap one or more of …; got '…'"), which names the first word refused. A repeated word is
 * dropped, or refused with `refuseRepeats` where a repeat means a mistake (a trained row given twice).
 */
export function parseAttributeList<A extends string>(list: string, allowed: readonly A[], what: string, refuseRepeats = false): A[] {
  const names = list.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const bad = names.find((s) => !(allowed as readonly string[]).includes(s));
  if (names.length === 0 || bad !== undefined) {
    throw new Error(`${what} one or more of ${allowed.join(', ')}; got '${list}'${bad === undefined ? '' : `: '${bad}' is not one of them`}`);
  }
  const repeated = names.find((s, i) => names.indexOf(s) !== i);
  if (refuseRepeats && repeated !== undefined) throw new Error(`${what}: '${repeated}' is given twice in '${list}'`);
  return [...new Set(names)] as A[];
}

/**
 * Where a world caption names its subject: indices into `caption.split(' ')` of the class word and, before it,
 * the colour and pattern words (−1 when absent: a plain subject has no pattern word); undefined when the caption
 * names no class (e.g. the empty caption of classifier-free guidance dropout). Every pretraining term that acts
 * on an attribute word finds it here, so they agree on which word it is.
 */
export interface SubjectWords {
  words: string[];
  class: number;
  colour: number;
  pattern: number;
}

export function findSubjectWords(caption: string): SubjectWords | undefined {
  const words = caption.split(' ');
  const cls = words.findIndex((w) => CAPTION_ATTRIBUTE_WORDS.class.includes(w));
  if (cls < 0) return undefined;
  const lastBefore = (list: readonly string[]): number => {
    for (let i = cls - 1; i >= 0; i--) if (list.includes(words[i])) return i;
    return -1;
  };
  return { words, class: cls, colour: lastBefore(CAPTION_ATTRIBUTE_WORDS.colour), pattern: lastBefore(CAPTION_ATTRIBUTE_WORDS.pattern) };
}
