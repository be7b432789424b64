/**
 * Aggregation: a cell is one (method, subject, training seed) run; its score per metric is the mean over its
 * prompts and generated images. The table reports, per method and metric, the mean over cells ± the sample
 * standard deviation over cells (n − 1; 0 for a single cell) — the spread over subjects and seeds.
 */
export interface Stat {
  mean: number;
  std: number;
  n: number;
}

/** Mean and sample standard deviation of the finite values; null when there are none. */
export function meanStd(values: readonly (number | null | undefined)[]): Stat | null {
  const xs = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (!xs.length) return null;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, std, n: xs.length };
}

/** Mean of the finite values, or null. */
export function mean(values: readonly (number | null | undefined)[]): number | null {
  return meanStd(values)?.mean ?? null;
}

export interface CellScores {
  method: string;
  subject: string;
  seed: number;
  /** metric → the cell's mean (null = not computable) */
  scores: Record<string, number | null>;
}

export type Aggregate = Record<string, Record<string, Stat | null>>;

export function aggregate(cells: readonly CellScores[], methods: readonly string[], metrics: readonly string[]): Aggregate {
  const out: Aggregate = {};
  for (const m of methods) {
    const mine = cells.filter((c) => c.method === m);
    out[m] = Object.fromEntries(metrics.map((k) => [k, meanStd(mine.map((c) => c.scores[k]))]));
  }
  return out;
}

export function formatStat(s: Stat | null, decimals = 4): string {
  if (!s) return '—';
  return s.n > 1 ? `${s.mean.toFixed(decimals)} ± ${s.std.toFixed(decimals)}` : s.mean.toFixed(decimals);
}

/** A Markdown table: one row per method, one column per metric; the best mean per column in bold. */
export function markdownTable(agg: Aggregate, rows: ReadonlyArray<{ key: string; label: string }>, cols: ReadonlyArray<{ key: string; label: string; higherIsBetter?: boolean }>, decimals = 4): string {
  const best: Record<string, number> = {};
  for (const c of cols) {
    // compared as printed: float noise below the shown decimals is no win
    const vals = rows.map((r) => agg[r.key]?.[c.key]?.mean).filter((v): v is number => v !== undefined).map((v) => Number(v.toFixed(decimals)));
    // bold only a best that not every row shares
    if (vals.length > 1 && new Set(vals).size > 1) best[c.key] = c.higherIsBetter === false ? Math.min(...vals) : Math.max(...vals);
  }
  const head = `| Method | ${cols.map((c) => c.label).join(' | ')} |`;
  const rule = `|---|${cols.map(() => '---:').join('|')}|`;
  const body = rows.map((r) => {
    const cells = cols.map((c) => {
      const s = agg[r.key]?.[c.key] ?? null;
      const t = formatStat(s, decimals);
      return s && best[c.key] === Number(s.mean.toFixed(decimals)) ? `**${t}**` : t;
    });
    return `| ${r.label} | ${cells.join(' | ')} |`;
  });
  return [head, rule, ...body].join('\n');
}
