/**
 * The one place images/latents change layout: PyTorch NCHW (fixtures, checkpoints' world) ↔ NHWC (ours).
 * Used only at boundaries (parity runners, host I/O), never inside a model.
 */
import * as tf from '@tensorflow/tfjs-core';

export function nchwToNhwc(x: tf.Tensor4D): tf.Tensor4D {
  return tf.transpose(x, [0, 2, 3, 1]);
}

export function nhwcToNchw(x: tf.Tensor4D): tf.Tensor4D {
  return tf.transpose(x, [0, 3, 1, 2]);
}
