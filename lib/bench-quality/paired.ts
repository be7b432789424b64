/**
 * Paired differences: DETEX minus another method on the same (subject, seed) cells — same photos, masks, training
 * seed, prompts and initial noise — so the subject-to-subject spread, which dwarfs the methods' differences in the
 * unpaired table, cancels. Per metric: mean ± sample std of the differences, how many cells favour DETEX, and the
 * paired t statistic (mean / (std / √n)); identical cells give a difference of exactly 0.
 */
import { CellScores } from './aggregate';

export interface PairedStat {
  mean: number;
  std: number;
  n: number;
  /** cells where the base method scores higher */
  wins: number;
  /** cells where both score the same */
  ties: number;
  /** paired t statistic; null for n < 2 or a zero spread */
  t: number | null;
}

export function pairedDifferences(cells: readonly CellScores[], base: string, other: string, metric: string): PairedStat | null {
  const key = (c: CellScores) => `${c.subject}\u0000${c.seed}`;
  const mine = new Map(cells.filter((c) => c.method === base).map((c) => [key(c), c.scores[metric]]));
  const d: number[] = [];
  for (const c of cells) {
    if (c.method !== other) continue;
    const a = mine.get(key(c));
    const b = c.scores[metric];
    if (typeof a === 'number' && typeof b === 'number' && Number.isFinite(a) && Number.isFinite(b)) d.push(a - b);
  }
  if (!d.length) return null;
  const mean = d.reduce((s, x) => s + x, 0) / d.length;
  const std = d.length > 1 ? Math.sqrt(d.reduce((s, x) => s + (x - mean) ** 2, 0) / (d.length - 1)) : 0;
  return {
    mean, std, n: d.length, wins: d.filter((x) => x > 0).length, ties: d.filter((x) => x === 0).length,
    t: d.length > 1 && std > 0 ? mean / (std / Math.sqrt(d.length)) : null,
  };
}

export function formatPaired(p: PairedStat | null, decimals = 3): string {
  if (!p) return '—';
  if (p.std === 0 && p.mean === 0) return `0 (identical, ${p.n} cells)`;
  const t = p.t === null ? '' : `, t ${p.t.toFixed(1)}`;
  return `${p.mean >= 0 ? '+' : ''}${p.mean.toFixed(decimals)} ± ${p.std.toFixed(decimals)} (${p.wins}/${p.n}${t})`;
}

/** A Markdown table: one row per other method, one column per metric. */
export function pairedTable(cells: readonly CellScores[], base: { key: string; label: string }, others: ReadonlyArray<{ key: string; label: string }>, cols: ReadonlyArray<{ key: string; label: string }>): string {
  const head = `| ${base.label} minus … | ${cols.map((c) => c.label).join(' | ')} |`;
  const rule = `|---|${cols.map(() => '---:').join('|')}|`;
  const body = others.map((o) => `| ${o.label} | ${cols.map((c) => formatPaired(pairedDifferences(cells, base.key, o.key, c.key))).join(' | ')} |`);
  return [head, rule, ...body].join('\n');
}
