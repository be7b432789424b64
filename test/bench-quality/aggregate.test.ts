import * as assert from 'assert';
import { meanStd, aggregate, markdownTable, formatStat } from '../../lib/bench-quality/aggregate';

describe('bench quality: aggregation', () => {
  it('should give the mean and the sample standard deviation (n − 1)', () => {
    const s = meanStd([2, 4, 4, 4, 5, 5, 7, 9])!;
    assert.strictEqual(s.mean, 5);
    assert.ok(Math.abs(s.std - Math.sqrt(32 / 7)) < 1e-12, String(s.std));
    assert.strictEqual(s.n, 8);
    assert.deepStrictEqual(meanStd([0.3]), { mean: 0.3, std: 0, n: 1 });
  });

  it('should skip missing values and give null when nothing is left', () => {
    assert.deepStrictEqual(meanStd([1, null, 3, undefined, NaN]), { mean: 2, std: Math.SQRT2, n: 2 });
    assert.strictEqual(meanStd([null, undefined]), null);
  });

  it('should aggregate cells per method over subjects and seeds', () => {
    const cells = [
      { method: 'detex', subject: 'a', seed: 0, scores: { 'clip-t': 0.3, 'bg-acc': 1 } },
      { method: 'detex', subject: 'b', seed: 0, scores: { 'clip-t': 0.5, 'bg-acc': 0 } },
      { method: 'detex', subject: 'a', seed: 1, scores: { 'clip-t': 0.4, 'bg-acc': 0.5 } },
      { method: 'custom-diffusion', subject: 'a', seed: 0, scores: { 'clip-t': 0.2, 'bg-acc': null } },
    ];
    const agg = aggregate(cells, ['detex', 'custom-diffusion'], ['clip-t', 'bg-acc']);
    assert.ok(Math.abs(agg.detex['clip-t']!.mean - 0.4) < 1e-12);
    assert.ok(Math.abs(agg.detex['clip-t']!.std - 0.1) < 1e-12);
    assert.strictEqual(agg.detex['clip-t']!.n, 3);
    assert.strictEqual(agg.detex['bg-acc']!.mean, 0.5);
    assert.deepStrictEqual(agg['custom-diffusion']['clip-t'], { mean: 0.2, std: 0, n: 1 });
    assert.strictEqual(agg['custom-diffusion']['bg-acc'], null);
  });

  it('should print mean ± std, bold the best mean per column and a dash for missing', () => {
    const agg = {
      detex: { 'clip-t': { mean: 0.4, std: 0.1, n: 3 }, x: null },
      'custom-diffusion': { 'clip-t': { mean: 0.2, std: 0, n: 1 }, x: null },
    };
    const md = markdownTable(agg, [{ key: 'custom-diffusion', label: 'CD' }, { key: 'detex', label: 'DETEX' }], [{ key: 'clip-t', label: 'CLIP-T' }, { key: 'x', label: 'X' }]);
    const lines = md.split('\n');
    assert.strictEqual(lines[0], '| Method | CLIP-T | X |');
    assert.strictEqual(lines[2], '| CD | 0.2000 | — |');
    assert.strictEqual(lines[3], '| DETEX | **0.4000 ± 0.1000** | — |');
    assert.strictEqual(formatStat(null), '—');
    const tie = markdownTable({ a: { k: { mean: 0, std: 0, n: 1 } }, b: { k: { mean: 0, std: 0, n: 1 } } }, [{ key: 'a', label: 'A' }, { key: 'b', label: 'B' }], [{ key: 'k', label: 'K' }]);
    assert.ok(!tie.includes('**'), 'a tie shared by every row is not bold');
    const noise = markdownTable({ a: { k: { mean: 0.25, std: 0, n: 1 } }, b: { k: { mean: 0.25 + 1e-12, std: 0, n: 1 } } }, [{ key: 'a', label: 'A' }, { key: 'b', label: 'B' }], [{ key: 'k', label: 'K' }], 3);
    assert.ok(!noise.includes('**'), 'float noise below the printed decimals is a tie');
  });
});
