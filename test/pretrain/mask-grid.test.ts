import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { maskOnGrid } from '../../lib/pretrain/mask-grid';
import { expectNoLeak } from '../helpers/leak';

describe('pretrain/mask-grid', () => {
  // 4×8 mask: the left 2×2 block of the top-left quarter on the subject, and the whole right half
  const mask = () => {
    const m = new Float32Array(32);
    for (let y = 0; y < 2; y++) for (let x = 0; x < 2; x++) m[y * 8 + x] = 1;
    for (let y = 0; y < 4; y++) for (let x = 4; x < 8; x++) m[y * 8 + x] = 1;
    return tf.tensor4d(m, [1, 4, 8, 1]);
  };

  it('should give each cell of a coarser, non-square grid the subject\'s area share', async () => {
    await expectNoLeak(() => {
      const m = mask();
      const g = maskOnGrid(m, 2, 4, 'test');
      assert.deepStrictEqual(g.shape, [1, 2, 4, 1]);
      // each cell is 2×2 pixels: the top-left block is one whole cell, the right half four
      assert.deepStrictEqual(Array.from(g.dataSync()), [1, 0, 1, 1, 0, 0, 1, 1]);
      const half = maskOnGrid(m, 1, 2, 'test');
      // 4×4 cells: the left one holds the 4-pixel block of 16
      assert.deepStrictEqual(Array.from(half.dataSync()), [0.25, 1]);
      const same = maskOnGrid(m, 4, 8, 'test');
      assert.deepStrictEqual(Array.from(same.dataSync()), Array.from(m.dataSync()));
      tf.dispose([m, g, half, same]);
    });
  });

  it('should name the caller and both sizes when the grid does not divide the mask', () => {
    const m = mask();
    assert.throws(() => maskOnGrid(m, 3, 2, 'word attention'), /word attention: a 3×2 grid does not divide the 4×8 mask/);
    assert.throws(() => maskOnGrid(m, 2, 0, 'x'), /x: a 2×0 grid does not divide/);
    // a square grid on a non-square mask: both sides divide, by different factors
    assert.throws(() => maskOnGrid(m, 2, 2, 'foregroundWeights'), /foregroundWeights: a 2×2 grid shrinks the 4×8 mask by 2 and 4, not one factor/);
    assert.throws(() => maskOnGrid(tf.zeros([1, 4, 4, 3]) as tf.Tensor4D, 2, 2, 'x'), /x: masks must be \[B, S, S, 1\], got \[1, 4, 4, 3\]/);
    m.dispose();
  });
});
