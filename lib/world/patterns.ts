/**
 * Surface patterns, evaluated in the subject's own (u, v) surface coordinates so a pattern turns, scales
 * and curves with the object and looks the same in every photo of one identity (it is part of the
 * identity, not of the pose). Returns true where the secondary colour shows.
 *
 * The secondary colour covers well under half of the surface in every pattern (stripes 38 %, dots
 * ~28 %, checks ~34 %), so "the body colour" stays the majority colour — the oracle's colour check
 * counts on that.
 */

export const PATTERNS = ['plain', 'stripes', 'dots', 'checks'] as const;
export type PatternName = (typeof PATTERNS)[number];

/** Caption adjective ("a red striped ball"); plain has none. */
export const PATTERN_WORDS: Readonly<Record<PatternName, string>> = {
  plain: '',
  stripes: 'striped',
  dots: 'dotted',
  checks: 'checked',
};

export function isPattern(name: string): name is PatternName {
  return (PATTERNS as readonly string[]).includes(name);
}

function frac(x: number): number {
  return x - Math.floor(x);
}

/** Pattern ids as small ints for the inner render loop: plain 0, stripes 1, dots 2, checks 3. */
export function patternIndex(p: PatternName): number {
  return PATTERNS.indexOf(p);
}

export function patternHit(pattern: number, u: number, v: number): boolean {
  switch (pattern) {
    case 1: // horizontal bands, period 0.625 surface units (a ball shows three)
      return frac(v * 1.6 + 0.19) < 0.38;
    case 2: {
      // dots on a staggered 0.5 grid, radius 0.15
      const row = Math.floor(v * 2);
      const fx = frac(u * 2 + (row & 1 ? 0.5 : 0)) - 0.5;
      const fy = frac(v * 2) - 0.5;
      return fx * fx + fy * fy < 0.09;
    }
    case 3: {
      // checkerboard of inset squares (gaps keep the body colour the majority)
      const cu = u / 0.45 + 0.5;
      const cv = v / 0.45 + 0.5;
      if (((Math.floor(cu) + Math.floor(cv)) & 1) === 0) return false;
      return Math.abs(frac(cu) - 0.5) < 0.41 && Math.abs(frac(cv) - 0.5) < 0.41;
    }
    default:
      return false;
  }
}
