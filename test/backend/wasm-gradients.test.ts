import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { conv2dFilterGradIm2col, gatherGradOneHot } from '../../lib/backend/wasm-gradients';

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

/** The WASM replacements for the gather and transposed-conv gradients against tfjs' own (cpu backend). */
describe('gather and conv2dTranspose gradients by plain ops', () => {
  async function onCpu(fn: () => void): Promise<void> {
    const prev = tf.getBackend();
    await tf.setBackend('cpu');
    try {
      fn();
    } finally {
      await tf.setBackend(prev);
    }
  }

  it('should sum repeated rows like UnsortedSegmentSum', async () => {
    await onCpu(() =>
      tf.tidy(() => {
        const idx = tf.tensor2d([[3, 1, 3], [0, 3, 2]], [2, 3], 'int32');
        const dy = tf.randomNormal([2, 3, 4], 0, 1, 'float32', 7);
        const ref = tf.unsortedSegmentSum(tf.reshape(dy, [6, 4]), tf.reshape(idx, [6]), 5);
        const ours = gatherGradOneHot(dy, idx, [5, 4]);
        assert.ok(tf.max(tf.abs(tf.sub(ref, ours))).dataSync()[0] < 1e-6);
      }),
    );
  });

  it('should match the conv2dTranspose gradients for a 2×2 stride-2 upscale', async () => {
    await onCpu(() =>
      tf.tidy(() => {
        const x = tf.randomNormal([2, 3, 3, 4], 0, 1, 'float32', 1) as tf.Tensor4D;
        const w = tf.randomNormal([2, 2, 5, 4], 0, 1, 'float32', 2) as tf.Tensor4D; // [kh, kw, out, in]
        const up = tf.randomNormal([2, 6, 6, 5], 0, 1, 'float32', 3) as tf.Tensor4D; // upstream gradient
        const f = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.conv2dTranspose(a, b, [2, 6, 6, 5], 2, 'valid');
        const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => f(a as tf.Tensor4D, b as tf.Tensor4D))([x, w], up);
        const refW = tf.engine().runKernel('Conv2DBackpropFilter', { x: up, dy: x }, { strides: 2, pad: 'valid', dataFormat: 'NHWC', dilations: 1, filterShape: [2, 2, 5, 4] } as never) as tf.Tensor;
        const oursW = conv2dFilterGradIm2col(up, x, [2, 2, 5, 4], { strides: 2, pad: 'valid', dataFormat: 'NHWC', dilations: 1 });
        assert.ok(tf.max(tf.abs(tf.sub(gw, refW))).dataSync()[0] < 1e-4, 'engine filter gradient');
        assert.ok(tf.max(tf.abs(tf.sub(oursW, refW))).dataSync()[0] < 1e-4, 'im2col filter gradient');
        assert.deepStrictEqual(gx.shape, x.shape);
      }),
    );
  });
});
