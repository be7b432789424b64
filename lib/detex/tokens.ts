/**
 * The pseudo-words of a concept: [V] (one subject token shared by all images, Custom Diffusion's `<new1>`),
 * and per training image i a pose/view token [P_i] and a background token [B_i]. All are added to the
 * tokenizer as whole tokens; the text encoder never looks them up in its table: their embeddings are
 * substituted at their positions (so [V] behaves exactly as a new row of the table).
 */
import * as tf from '@tensorflow/tfjs-core';
import { CLIPTokenizer } from '../models/clip/tokenizer';
import { DetexConfig } from './config';
import { DetexTextEncoder } from './types';

export interface ConceptTokens {
  /** [V] */
  subject: string;
  /** [P_1..N] (empty without attribute tokens) */
  pose: string[];
  /** [B_1..N] */
  background: string[];
}

/** `<new1>` → `<new1:p1>`, `<new1:b1>`, …: tied to the subject token so two concepts can be loaded together. */
export function conceptTokenStrings(subjectToken: string, numImages: number, withAttributes: boolean): ConceptTokens {
  const stem = subjectToken.replace(/>$/, '');
  const close = subjectToken.endsWith('>') ? '>' : '';
  const n = withAttributes ? numImages : 0;
  return {
    subject: subjectToken,
    pose: Array.from({ length: n }, (_, i) => `${stem}:p${i + 1}${close}`),
    background: Array.from({ length: n }, (_, i) => `${stem}:b${i + 1}${close}`),
  };
}

export function allTokens(t: ConceptTokens): string[] {
  return [t.subject, ...t.pose, ...t.background];
}

/**
 * Adds the concept's tokens to the tokenizer. A token that is already an ordinary vocabulary word would make
 * the concept ambiguous: refused. Adding the same added tokens again (a second apply) is a no-op.
 */
export function addConceptTokens(tokenizer: CLIPTokenizer, tokens: ConceptTokens): Map<string, number> {
  const added = new Set(tokenizer.addedTokens.map((a) => a.token));
  for (const tok of allTokens(tokens)) {
    if (!added.has(tok) && tokenizer.tokenToId(tok) !== tokenizer.unkTokenId) {
      throw new Error(`concept token "${tok}" is already a word of the tokenizer's vocabulary; choose another subject token`);
    }
  }
  tokenizer.addTokens(allTokens(tokens));
  return new Map(allTokens(tokens).map((t) => [t, tokenizer.tokenToId(t)]));
}

/** The token-embedding row of `word`, which must be one token (Custom Diffusion's initializer_token rule). */
export function wordEmbedding(tokenizer: CLIPTokenizer, encoder: DetexTextEncoder, word: string): tf.Tensor1D {
  const pieces = tokenizer.tokenize(word);
  if (pieces.length !== 1) {
    throw new Error(`initialiser word "${word}" is ${pieces.length} tokens (${pieces.join(' ')}); it must be a single token`);
  }
  return encoder.tokenEmbedding(tokenizer.tokenToId(pieces[0]));
}

/** The training prompts of the spec. `i` is the 0-based image index. */
export function trainingPrompt(cfg: DetexConfig, tokens: ConceptTokens, i: number, filtered: boolean): string {
  const base = `photo of a ${tokens.subject} ${cfg.classWord}`;
  if (tokens.pose.length === 0) return base; // Custom Diffusion baseline
  const pose = `${base} with ${tokens.pose[i]} ${cfg.attributeWord}`;
  return filtered ? pose : `${pose} in ${tokens.background[i]} background`;
}

/** The prior-preservation prompt (eq. 2). */
export function classPrompt(cfg: DetexConfig): string {
  return `photo of a ${cfg.classWord}`;
}

/** Positions (in one tokenized row) where `id` occurs. */
export function positionsOf(ids: readonly number[], id: number): number[] {
  const out: number[] = [];
  ids.forEach((x, p) => {
    if (x === id) out.push(p);
  });
  return out;
}
