/**
 * Conv2d puts its bias into the conv/matmul kernel at inference (tf.fused) and adds it in an op of its own under a
 * gradient tape: both give the same output, on whatever backend the suite runs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { seeded } from '../../bench/inputs';
import { hostTensor } from '../../lib/io/host-tensor';
import { Conv2d, ParamStore } from '../../lib/nn';
import { assertClose } from '../helpers/native-toggle';
import { seededTensor } from '../helpers/seeded-tensor';

// eslint-disable-next-line @typescript-eslint/no-require-imports
require('@tensorflow/tfjs'); // registers the gradients

describe('Conv2d: fused bias at inference, composed under a tape', () => {
  const cases = [
    { name: '3×3 pad 1', k: 3, padding: 1 },
    { name: '1×1 (matmul)', k: 1, padding: 0 },
  ];
  for (const c of cases)
    it(`${c.name}: same output with and without a gradient tape`, () => {
      const store = ParamStore.initializing((name, shape) => hostTensor('float32', [...shape], seeded(shape.reduce((a, b) => a * b, 1), 40 + name.length)));
      try {
        const conv = new Conv2d(store, 'conv', 6, 5, c.k, { padding: c.padding });
        const x = seededTensor([2, 7, 9, 6], 41) as tf.Tensor4D;
        const plain = conv.apply(x);
        let taped: Float32Array = new Float32Array(0);
        const g = tf.grad((z: tf.Tensor) => {
          const y = conv.apply(z as tf.Tensor4D);
          taped = y.dataSync().slice() as Float32Array;
          return tf.sum(y);
        })(x);
        assertClose(plain.dataSync() as Float32Array, taped, 1e-6, 'y');
        tf.dispose([x, plain, g]);
      } finally {
        store.dispose();
      }
    });
});
