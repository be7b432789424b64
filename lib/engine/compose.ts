/**
 * compose: a mustache template + a concept → the prompt, its token ids and the pseudo-word substitutions, as plain
 * arrays. The concept's names are {{V}}, {{class}}, {{attribute}}, {{P.i}}, {{B.i}} (lib/detex/composer.ts);
 * other top-level names come from `view` (strings or numbers, e.g. {{place}}), filled in first.
 */
import { composePrompt } from '../detex/composer';
import { conceptVocabulary } from '../detex/concept';
import { addConceptTokens } from '../detex/tokens';
import { DetexSession } from './session';

export interface ComposeOutput {
  /** the prompt, pseudo-words as their token strings ("a <new1> dog on the beach") */
  prompt: string;
  /** the prompt without pseudo-words (what CLIP-T scores against) */
  plainPrompt: string;
  /** token ids, padded to the tokenizer's length */
  inputIds: number[];
  /** the concept tokens used, in prompt order */
  tokens: string[];
  /** where each pseudo-word's embedding goes: position in inputIds, token string, embedding */
  substitutions: Array<{ position: number; token: string; vector: number[] }>;
}

const CONCEPT_NAMES = new Set(['V', 'class', 'attribute', 'P', 'B']);

function fillView(template: string, view: Record<string, unknown>): string {
  return template.replace(/\{\{\s*([A-Za-z_][\w-]*)\s*\}\}/g, (whole, name: string) => {
    if (CONCEPT_NAMES.has(name) || !(name in view)) return whole; // the composer names unknown ones
    const v = view[name];
    if (typeof v !== 'string' && typeof v !== 'number') throw new Error(`compose: view value {{${name}}} must be a string or number, got ${typeof v}`);
    return String(v).replace(/[{}]/g, '');
  });
}

export async function compose(s: DetexSession, template: string, conceptPath: string | undefined, view: Record<string, unknown> = {}): Promise<ComposeOutput> {
  const tokenizer = await s.tokenizer();
  const concept = conceptPath ? s.concept(conceptPath) : undefined;
  if (concept) addConceptTokens(tokenizer, concept.meta.tokens);
  const r = composePrompt(fillView(template, view), tokenizer, concept ? conceptVocabulary(concept) : undefined);
  return {
    prompt: r.text,
    plainPrompt: r.plainText,
    inputIds: r.inputIds,
    tokens: r.substitutions.map((x) => x.token),
    substitutions: r.substitutions.map((x) => ({ position: x.position, token: x.token, vector: Array.from(x.vector) })),
  };
}
