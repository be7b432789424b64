/**
 * CLIP's pre-tokenizer: the regex that cuts cleaned, lowercased text into words before BPE.
 * Same alternatives and order as the reference pattern (case-insensitive):
 *   <|startoftext|> | <|endoftext|> | 's 't 're 've 'm 'll 'd | letters+ | one digit | other non-space run
 * `\s` is spelled out as Python's whitespace set, since JS `\s` is a slightly different set.
 */
import { PYTHON_WHITESPACE_CLASS } from './text-cleanup';

const CLIP_PATTERN = new RegExp(
  [
    '<\\|startoftext\\|>',
    '<\\|endoftext\\|>',
    "'s", "'t", "'re", "'ve", "'m", "'ll", "'d",
    '\\p{L}+',
    '\\p{N}',
    `[^${PYTHON_WHITESPACE_CLASS}\\p{L}\\p{N}]+`,
  ].join('|'),
  'giu',
);

/** Words of `text` in order (text must already be cleaned; see text-cleanup.ts). */
export function preTokenize(text: string): string[] {
  return text.match(CLIP_PATTERN) ?? [];
}
