/**
 * A tensor as plain host data: what travels through files, msgs and JSON. It owns no backend memory, so
 * it survives Node-RED's deep clone and needs no dispose.
 */
import * as tf from '@tensorflow/tfjs-core';

export type HostDType = 'float32' | 'int32' | 'bool' | 'uint8';
export type HostData = Float32Array | Int32Array | Uint8Array;

export interface HostTensor {
  dtype: HostDType;
  shape: number[];
  data: HostData;
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function hostTensor(dtype: HostDType, shape: number[], data: HostData): HostTensor {
  const n = sizeOf(shape);
  if (data.length !== n) {
    throw new Error(`HostTensor: shape [${shape}] needs ${n} elements, data has ${data.length}`);
  }
  return { dtype, shape: [...shape], data };
}

/** Creates a tf.Tensor (caller owns it). uint8 becomes int32, as tfjs has no uint8. */
export function toTf(h: HostTensor): tf.Tensor {
  switch (h.dtype) {
    case 'float32':
      return tf.tensor(h.data as Float32Array, h.shape, 'float32');
    case 'int32':
      return tf.tensor(h.data as Int32Array, h.shape, 'int32');
    case 'bool':
      return tf.tensor(h.data as Uint8Array, h.shape, 'bool');
    case 'uint8':
      return tf.tensor(Int32Array.from(h.data as Uint8Array), h.shape, 'int32');
  }
}

function fromValues(t: tf.Tensor, values: tf.TypedArray | string[]): HostTensor {
  if (t.dtype === 'float32') return hostTensor('float32', t.shape, values as Float32Array);
  if (t.dtype === 'int32') return hostTensor('int32', t.shape, values as Int32Array);
  if (t.dtype === 'bool') return hostTensor('bool', t.shape, Uint8Array.from(values as Uint8Array));
  throw new Error(`HostTensor: tfjs dtype ${t.dtype} has no host form`);
}

export async function fromTf(t: tf.Tensor): Promise<HostTensor> {
  return fromValues(t, await t.data());
}

export function fromTfSync(t: tf.Tensor): HostTensor {
  return fromValues(t, t.dataSync());
}

/** float32 copy of any host tensor (ints and bools converted). */
export function asFloat32(h: HostTensor): Float32Array {
  return h.data instanceof Float32Array ? h.data : Float32Array.from(h.data);
}
