import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { conv2dFilterGradIm2col } from '../../lib/backend/wasm-gradients';

/** The im2col filter gradient must equal tfjs' own Conv2DBackpropFilter (computed on the cpu backend). */
describe('conv2d filter gradient by im2col', () => {
  const cases: Array<[string, [number, number, number, number], [number, number, number, number], number, 'same' | 'valid' | number, number]> = [
    ['x=[2,6,6,3] f=[3,3,3,4] s=1 p=same', [2, 6, 6, 3], [3, 3, 3, 4], 1, 'same', 1],
    ['x=[1,7,7,2] f=[3,3,2,5] s=2 p=1', [1, 7, 7, 2], [3, 3, 2, 5], 2, 1, 1],
    ['x=[1,8,8,2] f=[3,3,2,2] s=2 p=valid', [1, 8, 8, 2], [3, 3, 2, 2], 2, 'valid', 1],
    ['x=[1,9,9,1] f=[1,1,1,2] s=1 p=valid', [1, 9, 9, 1], [1, 1, 1, 2], 1, 'valid', 1],
  ];
  for (const [name, xs, fs, stride, pad, dil] of cases) {
    it(`should match Conv2DBackpropFilter for ${name}`, async () => {
      const prev = tf.getBackend();
      await tf.setBackend('cpu');
      try {
        tf.tidy(() => {
          const x = tf.randomNormal(xs, 0, 1, 'float32', 1) as tf.Tensor4D;
          const f = tf.randomNormal(fs, 0, 1, 'float32', 2) as tf.Tensor4D;
          const y = tf.conv2d(x, f, stride, pad, 'NHWC', dil);
          const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 3) as tf.Tensor4D;
          // tfjs' own kernel, called directly (the Conv2D gradient itself may be ours once wasm was chosen)
          const ref = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: stride, pad, dataFormat: 'NHWC', dilations: dil, filterShape: fs } as never) as tf.Tensor;
          const ours = conv2dFilterGradIm2col(x, dy, fs, { strides: stride, pad, dataFormat: 'NHWC', dilations: dil });
          const err = tf.max(tf.abs(tf.sub(ref, ours))).dataSync()[0];
          assert.ok(err < 1e-4, `max abs err ${err}`);
        });
      } finally {
        await tf.setBackend(prev);
      }
    });
  }
});
