/**
 * How far a text encoder carries the differences between learned concept embeddings: one prompt template with each
 * concept's vectors at its token slots, and the relative spread of the resulting last_hidden_states over all 77
 * positions — `attributeSeparation`'s measure, for off-vocabulary embeddings instead of word swaps.
 *
 * Why: run 29 held the encoder's word-swap separation for colour and background at the shipped level and DETEX
 * still failed on it; the same six trained [V] vectors moved its states half as much as the shipped encoder's
 * after "cup" (TRAINING.md, run 29). A DETEX concept lives in such embeddings, so this is what a moved encoder
 * must keep.
 */
import * as tf from '@tensorflow/tfjs-core';
import { CLIPTokenizer } from '../models/clip/tokenizer';
import { ConceptVocabulary, batchSubstitutions, composePrompt } from '../detex/composer';
import { DetexTextEncoder } from '../detex/types';
import { addConceptTokens, allTokens } from '../detex/tokens';
import { relativeSpread } from './text-separation';

/**
 * `encoder`'s last_hidden_states [n, 77, width] for `concepts` (≥ 2, all with the same token strings, as concepts
 * trained with one subject token are) rendered into `template` (a composer template: {{V}}, {{class}}, {{B.1}}, …),
 * each with `classWord` when given; the caller owns them. Adds the concepts' tokens to `tokenizer`. Gradients reach
 * the encoder's weights (and the vectors, which are copied in as constants here).
 */
export function conceptStates(
  tokenizer: CLIPTokenizer,
  encoder: DetexTextEncoder,
  concepts: readonly ConceptVocabulary[],
  template: string,
  classWord?: string,
): tf.Tensor3D {
  if (concepts.length < 2) throw new Error(`conceptSpread: needs at least 2 concepts, got ${concepts.length}`);
  const tokens = allTokens(concepts[0].tokens).join(' ');
  concepts.forEach((c, i) => {
    if (allTokens(c.tokens).join(' ') !== tokens) {
      throw new Error(`conceptSpread: concept ${i} has tokens ${allTokens(c.tokens).join(' ')}, concept 0 ${tokens}: they must fill the same slots`);
    }
  });
  addConceptTokens(tokenizer, concepts[0].tokens);
  const prompts = concepts.map((c) => composePrompt(template, tokenizer, classWord ? { ...c, classWord } : c));
  const subs = batchSubstitutions(prompts);
  try {
    return encoder.encode(prompts.map((p) => p.inputIds), subs);
  } finally {
    for (const s of subs) s.vector.dispose();
  }
}

/** The relative spread (`relativeSpread`) of `conceptStates`. */
export function conceptSpread(
  tokenizer: CLIPTokenizer,
  encoder: DetexTextEncoder,
  concepts: readonly ConceptVocabulary[],
  template: string,
  classWord?: string,
): number {
  const h = conceptStates(tokenizer, encoder, concepts, template, classWord);
  try {
    return relativeSpread(h);
  } finally {
    h.dispose();
  }
}
