/** Asserts that a block of work leaves tf.memory().numTensors where it found it. */
import * as tf from '@tensorflow/tfjs-core';
import * as assert from 'assert';

export async function expectNoLeak<T>(work: () => T | Promise<T>): Promise<T> {
  const before = tf.memory().numTensors;
  const result = await work();
  const after = tf.memory().numTensors;
  assert.strictEqual(after, before, `tensor leak: ${after - before} tensors left behind`);
  return result;
}
