import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { decomposedRelPosBias, getRelPos } from '../../../lib/models/sam/rel-pos';
import { expectNoLeak } from '../../helpers/leak';

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5): void {
  assert.strictEqual(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol, `index ${i}: ${a[i]} vs ${b[i]}`);
}

describe('models/sam/rel-pos', () => {
  it('should index rel_pos[i − j + k − 1] when sizes match (q=k=3, table 5)', async () => {
    await expectNoLeak(() => {
      const table = tf.tensor2d([0, 1, 2, 3, 4], [5, 1]);
      const r = getRelPos(3, 3, table);
      assert.deepStrictEqual(r.shape, [3, 3, 1]);
      // rows i, cols j: i − j + 2
      assert.deepStrictEqual(Array.from(r.dataSync()), [2, 1, 0, 3, 2, 1, 4, 3, 2]);
      tf.dispose([table, r]);
    });
  });

  it('should resize the table linearly (align_corners=False) when trained for another size: 3 → 5 rows', async () => {
    await expectNoLeak(() => {
      const table = tf.tensor2d([0, 10, 20], [3, 1]);
      // source rows (d + 0.5)·0.6 − 0.5 clamped at 0: 0, 0.4, 1, 1.6, 2.2→last → 0, 4, 10, 16, 20
      const r = getRelPos(3, 3, table);
      close(r.dataSync(), [10, 4, 0, 16, 10, 4, 20, 16, 10]);
      tf.dispose([table, r]);
    });
  });

  it('should scale coordinates to the longer axis when q and k differ (q=2, k=4)', () => {
    const table = tf.tensor2d([0, 1, 2, 3, 4, 5, 6], [7, 1]);
    const r = getRelPos(2, 4, table);
    // 2i − j + 3
    assert.deepStrictEqual(Array.from(r.dataSync()), [3, 2, 1, 0, 5, 4, 3, 2]);
    tf.dispose([table, r]);
  });

  it('should equal the brute-force sum q·Rh[y,ky] + q·Rw[x,kx] for P=2, grid 2×3, d=4', async () => {
    await expectNoLeak(() => {
      const [p, qh, qw, d] = [2, 2, 3, 4];
      const rand = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 13.7 + i * 1.3));
      const qv = rand(p * qh * qw * d, 1);
      const rhv = rand((2 * qh - 1) * d, 2);
      const rwv = rand((2 * qw - 1) * d, 3);
      const q = tf.tensor3d(qv, [p, qh * qw, d]);
      const rh = tf.tensor2d(rhv, [2 * qh - 1, d]);
      const rw = tf.tensor2d(rwv, [2 * qw - 1, d]);
      const bias = decomposedRelPosBias(q, rh, rw, [qh, qw], [qh, qw]);
      assert.deepStrictEqual(bias.shape, [p, qh * qw, qh * qw]);
      const expected: number[] = [];
      for (let b = 0; b < p; b++)
        for (let y = 0; y < qh; y++)
          for (let x = 0; x < qw; x++)
            for (let ky = 0; ky < qh; ky++)
              for (let kx = 0; kx < qw; kx++) {
                let s = 0;
                for (let c = 0; c < d; c++) {
                  const qq = qv[((b * qh + y) * qw + x) * d + c];
                  s += qq * rhv[(y - ky + qh - 1) * d + c] + qq * rwv[(x - kx + qw - 1) * d + c];
                }
                expected.push(s);
              }
      close(bias.dataSync(), expected);
      tf.dispose([q, rh, rw, bias]);
    });
  });
});
