/** Activations by the names reference configs use (`hidden_act`, `act_fn`). */
import * as tf from '@tensorflow/tfjs-core';

export type Activation = (x: tf.Tensor) => tf.Tensor;

export const silu: Activation = (x) => tf.tidy(() => tf.mul(x, tf.sigmoid(x)));

/** Exact GELU, x·Φ(x) = 0.5·x·(1 + erf(x/√2)) — PyTorch's default. */
export const gelu: Activation = (x) => tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))));

/** GELU with the tanh approximation (PyTorch approximate='tanh', "gelu_new"). */
export const geluTanh: Activation = (x) =>
  tf.tidy(() => {
    const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
    return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(inner)));
  });

/** x·σ(1.702x): OpenAI CLIP's activation, used by SD v1's text encoder. */
export const quickGelu: Activation = (x) => tf.tidy(() => tf.mul(x, tf.sigmoid(tf.mul(x, 1.702))));

export const relu: Activation = (x) => tf.relu(x);

const BY_NAME: Record<string, Activation> = {
  silu,
  swish: silu,
  gelu,
  gelu_new: geluTanh,
  gelu_pytorch_tanh: geluTanh,
  quick_gelu: quickGelu,
  relu,
};

export function activationByName(name: string): Activation {
  const f = BY_NAME[name];
  if (!f) throw new Error(`activation "${name}" is not supported (supported: ${Object.keys(BY_NAME).join(', ')})`);
  return f;
}
