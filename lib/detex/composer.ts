/**
 * Prompt composition at inference (paper §3.4 / Fig. 1): mustache templates over a concept's pseudo-words,
 *
 *   "a {{V}} {{class}} on the beach"
 *   "{{V}} {{class}} with {{P.2}} {{attribute}} in {{B.4}} background"   tokens of different images combine
 *   "a cat in {{B.1}} background"                                        [B_i] with another subject
 *
 * → the prompt text, its token ids, and the embedding substitutions the text encoder needs. The view is
 * strict: an unknown placeholder (or a section / partial) is an error naming it, never an empty string.
 */
import Mustache from 'mustache';
import * as tf from '@tensorflow/tfjs-core';
import { CLIPTokenizer } from '../models/clip/tokenizer';
import { ConceptTokens, allTokens } from './tokens';
import { EmbeddingSubstitution } from './types';

/** What the composer needs from a concept: its words and the embedding of each pseudo-word. */
export interface ConceptVocabulary {
  tokens: ConceptTokens;
  classWord: string;
  attributeWord: string;
  /** token string → embedding [hidden] */
  vectors: ReadonlyMap<string, Float32Array>;
}

export interface ComposedPrompt {
  /** the rendered prompt, pseudo-words as token strings */
  text: string;
  /** the same prompt with the pseudo-words removed (for CLIP-T) */
  plainText: string;
  /** tokenized, padded to the tokenizer's max length */
  inputIds: number[];
  /** where each pseudo-word's embedding goes */
  substitutions: Array<{ position: number; token: string; vector: Float32Array }>;
}

export class TemplateError extends Error {}

/** Names a template may use, for one concept (or none). */
function viewFor(concept: ConceptVocabulary | undefined, blank: boolean): Record<string, unknown> {
  if (!concept) return {};
  const { tokens } = concept;
  const indexed = (list: string[]) => Object.fromEntries(list.map((t, i) => [String(i + 1), blank ? '' : t]));
  return {
    V: blank ? '' : tokens.subject,
    class: concept.classWord,
    attribute: concept.attributeWord,
    P: indexed(tokens.pose),
    B: indexed(tokens.background),
  };
}

function knownNames(concept: ConceptVocabulary | undefined): string[] {
  if (!concept) return [];
  return [
    'V', 'class', 'attribute',
    ...concept.tokens.pose.map((_, i) => `P.${i + 1}`),
    ...concept.tokens.background.map((_, i) => `B.${i + 1}`),
  ];
}

/** Every placeholder of the template must be a known name; sections and partials are refused. */
export function checkTemplate(template: string, concept: ConceptVocabulary | undefined): void {
  let tokens: unknown[];
  try {
    tokens = Mustache.parse(template) as unknown[];
  } catch (e) {
    throw new TemplateError(`prompt template: ${(e as Error).message}`);
  }
  const known = new Set(knownNames(concept));
  const unknown: string[] = [];
  const unsupported: string[] = [];
  for (const t of tokens as Array<[string, string]>) {
    const [type, name] = t;
    if (type === 'text') continue;
    if (type === 'name' || type === '&') {
      if (!known.has(name)) unknown.push(name);
    } else if (type !== '!') {
      unsupported.push(`{{${type}${name}}}`);
    }
  }
  if (unsupported.length) throw new TemplateError(`prompt template: sections and partials are not supported: ${unsupported.join(', ')}`);
  if (unknown.length) {
    const hint = known.size ? `known: ${[...known].join(', ')}` : 'no concept is loaded, so no placeholders are known';
    throw new TemplateError(`prompt template: unknown placeholder(s) ${unknown.map((n) => `{{${n}}}`).join(', ')} (${hint})`);
  }
}

function render(template: string, view: Record<string, unknown>): string {
  // Prompts are not HTML: no escaping.
  return Mustache.render(template, view, {}, { escape: (s: string) => s }).replace(/\s+/g, ' ').trim();
}

/** Renders, tokenizes and locates the pseudo-words of one prompt. The concept's tokens must be in the tokenizer. */
export function composePrompt(template: string, tokenizer: CLIPTokenizer, concept?: ConceptVocabulary): ComposedPrompt {
  checkTemplate(template, concept);
  const text = render(template, viewFor(concept, false));
  const plainText = render(template, viewFor(concept, true));
  const inputIds = tokenizer.call(text).inputIds[0];
  const substitutions: ComposedPrompt['substitutions'] = [];
  if (concept) {
    const expected = new Map<string, number>(); // occurrences in the untruncated text
    for (const piece of tokenizer.tokenize(text)) expected.set(piece, (expected.get(piece) ?? 0) + 1);
    for (const token of allTokens(concept.tokens)) {
      const id = tokenizer.tokenToId(token);
      if (id === tokenizer.unkTokenId) throw new Error(`composePrompt: token "${token}" is not in the tokenizer (apply the concept first)`);
      const vector = concept.vectors.get(token);
      let found = 0;
      inputIds.forEach((x, position) => {
        if (x !== id) return;
        if (!vector) throw new Error(`composePrompt: the concept has no embedding for "${token}"`);
        substitutions.push({ position, token, vector });
        found++;
      });
      if (found < (expected.get(token) ?? 0)) {
        throw new Error(`composePrompt: "${token}" falls beyond the tokenizer's ${inputIds.length} tokens; shorten the prompt`);
      }
    }
    substitutions.sort((a, b) => a.position - b.position);
  }
  return { text, plainText, inputIds, substitutions };
}

/** Substitutions for a batch of composed prompts (row b = prompts[b]); the caller disposes the vectors. */
export function batchSubstitutions(prompts: readonly ComposedPrompt[]): EmbeddingSubstitution[] {
  return prompts.flatMap((p, batch) =>
    p.substitutions.map((s) => ({ batch, position: s.position, vector: tf.tensor1d(s.vector) })),
  );
}
