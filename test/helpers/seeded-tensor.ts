import * as tf from '@tensorflow/tfjs-core';
import { seeded } from '../../bench/inputs';

/** A deterministic tensor, uniform in [lo, hi): the bench's seeded LCG stream (bench/inputs.ts), shaped. */
export function seededTensor(shape: number[], seed: number, lo = -1, hi = 1): tf.Tensor {
  return tf.tensor(seeded(shape.reduce((p, d) => p * d, 1), seed, lo, hi), shape);
}
