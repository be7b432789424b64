import * as tf from '@tensorflow/tfjs-core';

/**
 * Runs `f` in a tidy scope and reads its result AFTER the scope closes. Returning the typed array from
 * inside tf.tidy makes tidy walk it entry by entry looking for tensors: 1.5 s for a 1024² result,
 * which the bench once reported as a slow matmul.
 */
export function readTidy(f: () => tf.Tensor): Float32Array {
  const out = tf.tidy(f);
  try {
    return out.dataSync() as Float32Array;
  } finally {
    out.dispose();
  }
}
