/**
 * Byte-pair encoding of one pre-tokenized word, CLIP flavour: the last symbol carries the end-of-word marker
 * `</w>`, and the lowest-ranked adjacent pair is merged repeatedly until no ranked pair remains.
 */

export const END_OF_WORD = '</w>';

export class BytePairEncoder {
  private readonly ranks = new Map<string, number>();
  private readonly cache = new Map<string, string[]>();

  /**
   * @param merges merge rules in rank order, each `"left right"`.
   * @param preset words whose result is fixed (CLIP maps its two special-token strings to themselves).
   */
  constructor(merges: readonly string[], preset: Iterable<string> = []) {
    merges.forEach((m, rank) => {
      if (!this.ranks.has(m)) this.ranks.set(m, rank);
    });
    for (const w of preset) this.cache.set(w, [w]);
  }

  get numMerges(): number {
    return this.ranks.size;
  }

  /** Symbols of `word` (already byte-to-unicode mapped) after all merges. Results are cached per word. */
  encode(word: string): string[] {
    const hit = this.cache.get(word);
    if (hit) return hit;
    const chars = Array.from(word);
    if (chars.length === 0) return [];
    let symbols = chars.slice(0, -1);
    symbols.push(chars[chars.length - 1] + END_OF_WORD);

    while (symbols.length > 1) {
      // 1. the adjacent pair with the lowest rank (first occurrence wins ties: ranks are unique).
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < symbols.length - 1; i++) {
        const r = this.ranks.get(symbols[i] + ' ' + symbols[i + 1]);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      // 2. merge every non-overlapping occurrence of that pair, left to right.
      const left = symbols[best];
      const right = symbols[best + 1];
      const merged: string[] = [];
      for (let i = 0; i < symbols.length; ) {
        if (i < symbols.length - 1 && symbols[i] === left && symbols[i + 1] === right) {
          merged.push(left + right);
          i += 2;
        } else {
          merged.push(symbols[i]);
          i += 1;
        }
      }
      symbols = merged;
    }
    this.cache.set(word, symbols);
    return symbols;
  }
}
