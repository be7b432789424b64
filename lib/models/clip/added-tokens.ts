/**
 * Cutting "no-split" tokens (added tokens and the special-token strings) out of raw text, as transformers'
 * slow tokenizers do before any cleanup: exact, case-sensitive matches, found anywhere (even inside a word),
 * scanning left to right and preferring the longest token that starts at the earliest position.
 */

export type TextPiece = { kind: 'text'; text: string } | { kind: 'token'; token: string };

export class NoSplitMatcher {
  private tokens: string[] = [];

  /** Registers tokens (duplicates ignored). Longer tokens are tried first at each position. */
  add(tokens: Iterable<string>): void {
    const set = new Set(this.tokens);
    for (const t of tokens) if (t.length > 0) set.add(t);
    this.tokens = [...set].sort((a, b) => b.length - a.length);
  }

  has(token: string): boolean {
    return this.tokens.includes(token);
  }

  /** Splits `text` into plain-text pieces and whole tokens, in order. Empty text pieces are dropped. */
  split(text: string): TextPiece[] {
    const out: TextPiece[] = [];
    let plainStart = 0;
    let i = 0;
    while (i < text.length) {
      const hit = this.tokens.find((t) => text.startsWith(t, i));
      if (hit === undefined) {
        i++;
        continue;
      }
      if (i > plainStart) out.push({ kind: 'text', text: text.slice(plainStart, i) });
      out.push({ kind: 'token', token: hit });
      i += hit.length;
      plainStart = i;
    }
    if (plainStart < text.length) out.push({ kind: 'text', text: text.slice(plainStart) });
    return out;
  }
}
