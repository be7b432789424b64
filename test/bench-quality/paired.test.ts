import * as assert from 'assert';
import { formatPaired, pairedDifferences, pairedTable } from '../../lib/bench-quality/paired';

const cell = (method: string, subject: string, seed: number, x: number | null) => ({ method, subject, seed, scores: { m: x } });

describe('bench-quality/paired', () => {
  it('should pair cells by subject and seed, and give mean, spread, wins and the paired t', () => {
    const cells = [
      cell('detex', 'a', 0, 0.5), cell('cd', 'a', 0, 0.4),
      cell('detex', 'b', 0, 0.3), cell('cd', 'b', 0, 0.1),
      cell('detex', 'a', 1, 0.2), cell('cd', 'a', 1, 0.3),
      cell('cd', 'c', 0, 0.9), // no DETEX cell: not paired
      cell('detex', 'd', 0, null), cell('cd', 'd', 0, 0.2), // not computable: not paired
    ];
    const p = pairedDifferences(cells, 'detex', 'cd', 'm')!;
    assert.strictEqual(p.n, 3);
    assert.strictEqual(p.wins, 2);
    assert.ok(Math.abs(p.mean - (0.1 + 0.2 - 0.1) / 3) < 1e-12);
    const sd = Math.sqrt(((0.1 - p.mean) ** 2 + (0.2 - p.mean) ** 2 + (-0.1 - p.mean) ** 2) / 2);
    assert.ok(Math.abs(p.std - sd) < 1e-12);
    assert.ok(Math.abs(p.t! - p.mean / (sd / Math.sqrt(3))) < 1e-9);
    assert.match(formatPaired(p), /^\+0\.067 ± 0\.153 \(2\/3, t 0\.8\)$/);
  });

  it('should say identical when every difference is 0, and — with no pair', () => {
    const same = [cell('detex', 'a', 0, 0.5), cell('x', 'a', 0, 0.5), cell('detex', 'b', 0, 0.2), cell('x', 'b', 0, 0.2)];
    assert.strictEqual(formatPaired(pairedDifferences(same, 'detex', 'x', 'm')), '0 (identical, 2 cells)');
    assert.strictEqual(pairedDifferences(same, 'detex', 'nobody', 'm'), null);
    const t = pairedTable(same, { key: 'detex', label: 'DETEX' }, [{ key: 'x', label: 'X' }, { key: 'y', label: 'Y' }], [{ key: 'm', label: 'M' }]);
    assert.deepStrictEqual(t.split('\n'), ['| DETEX minus … | M |', '|---|---:|', '| X | 0 (identical, 2 cells) |', '| Y | — |']);
  });
});
