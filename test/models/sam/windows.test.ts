import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { windowPartition, windowUnpartition } from '../../../lib/models/sam/windows';
import { expectNoLeak } from '../../helpers/leak';

describe('models/sam/windows', () => {
  it('should pad x=[2,8,8,3] to 9×9 and cut 3×3 windows in row-major order, then undo it', async () => {
    await expectNoLeak(() => {
      const x = tf.tidy(() => tf.add(tf.reshape(tf.range(0, 2 * 8 * 8 * 3), [2, 8, 8, 3]), 1) as tf.Tensor4D); // no zeros
      const { windows, paddedHW } = windowPartition(x, 3);
      assert.deepStrictEqual(paddedHW, [9, 9]);
      assert.deepStrictEqual(windows.shape, [2 * 9, 3, 3, 3]);
      const w = windows.arraySync();
      const xa = x.arraySync();
      // window 1 = grid row 0, column 1: its (0,0) is x[0, 0, 3]
      assert.deepStrictEqual(w[1][0][0], xa[0][0][3]);
      // window 9 = batch 1's first window
      assert.deepStrictEqual(w[9][2][1], xa[1][2][1]);
      // window 8 (bottom-right of batch 0): row 2 and column 2 are padding
      assert.deepStrictEqual(w[8][2][0], [0, 0, 0]);
      assert.deepStrictEqual(w[8][1][1], xa[0][7][7]);
      const back = windowUnpartition(windows, 3, paddedHW, [8, 8]);
      assert.deepStrictEqual(back.shape, [2, 8, 8, 3]);
      assert.deepStrictEqual(Array.from(back.dataSync()), Array.from(x.dataSync()));
      tf.dispose([x, windows, back]);
    });
  });

  it('should not pad when the grid is a multiple of the window (x=[1,4,6,2], ws=2)', () => {
    const x = tf.tidy(() => tf.reshape(tf.range(0, 48), [1, 4, 6, 2]) as tf.Tensor4D);
    const { windows, paddedHW } = windowPartition(x, 2);
    assert.deepStrictEqual(paddedHW, [4, 6]);
    assert.deepStrictEqual(windows.shape, [6, 2, 2, 2]);
    const back = windowUnpartition(windows, 2, paddedHW, [4, 6]);
    assert.deepStrictEqual(Array.from(back.dataSync()), Array.from(x.dataSync()));
    tf.dispose([x, windows, back]);
  });
});
