/**
 * How tensors travel inside Node-RED msgs.
 *
 * Node-RED deep-clones msgs (`RED.util.cloneMessage` = lodash cloneDeep) on fan-out and for Catch /
 * Complete nodes. A cloned live `tf.Tensor` gets a dataId the engine never registered and throws on
 * first use, and a cloned Node `Buffer` still shares memory with the original. So a tensor in a msg
 * is plain data that cloneDeep copies correctly:
 *
 *   live form:  {__detexTensor: 1, dtype, shape, data: Float32Array | Int32Array | Uint8Array}
 *   JSON form:  {__detexTensor: 1, dtype, shape, encoding: 'base64', data: '<little-endian bytes>'}
 *
 * `decodeTensorMsg` accepts both, plus what a naive `JSON.stringify` of the live form gives back
 * (`data` as `{"0":..,"1":..}`) and plain number arrays (hand-written in a Function node).
 *
 * Big artifacts (a loaded model, a trained concept) travel by reference: `{__detexRef: kind, id}` into
 * an {@link ArtifactRegistry}, or `{__detexRef: kind, path}` for something on disk.
 */
import * as os from 'os';
import * as tf from '@tensorflow/tfjs-core';
import { HostDType, HostData, HostTensor, sizeOf } from './io/host-tensor';

export const TENSOR_MSG_VERSION = 1;

const DTYPES: readonly HostDType[] = ['float32', 'int32', 'bool', 'uint8'];

export interface TensorMsg {
  __detexTensor: 1;
  dtype: HostDType;
  shape: number[];
  data: HostData;
}

export interface TensorMsgJSON {
  __detexTensor: 1;
  dtype: HostDType;
  shape: number[];
  encoding: 'base64';
  data: string;
}

// Base64 payloads are defined as little-endian; every platform Node-RED runs on is LE today.
const HOST_IS_LE = os.endianness() === 'LE';

function fail(what: string): never {
  throw new Error(`tensor msg: ${what}`);
}

/** True for anything that looks like a tensor msg (live or JSON form); does not validate it. */
export function isTensorMsg(x: unknown): x is TensorMsg | TensorMsgJSON {
  return typeof x === 'object' && x !== null && (x as { __detexTensor?: unknown }).__detexTensor === TENSOR_MSG_VERSION;
}

function isTfTensor(x: unknown): x is tf.Tensor {
  return x instanceof tf.Tensor;
}

/** A fresh typed array of the host type for `dtype`, never a Node Buffer (cloneDeep shares Buffer memory). */
function copyInto(dtype: HostDType, values: ArrayLike<number>): HostData {
  if (dtype === 'float32') return Float32Array.from(values);
  if (dtype === 'int32') return Int32Array.from(values);
  return Uint8Array.from(values);
}

function hostDTypeOfTf(t: tf.Tensor): HostDType {
  if (t.dtype === 'float32' || t.dtype === 'int32' || t.dtype === 'bool') return t.dtype;
  return fail(`tfjs dtype '${t.dtype}' cannot travel in a msg (float32, int32, bool only)`);
}

/**
 * Plain-data msg form of a tensor. The data is always copied, so the msg never aliases the tensor's
 * backing store (the CPU backend's dataSync returns it) nor the caller's HostTensor.
 * Does not dispose `t`.
 */
export function encodeTensorMsg(t: tf.Tensor | HostTensor): TensorMsg {
  if (isTfTensor(t)) {
    if (t.isDisposed) fail(`cannot encode a disposed tf.Tensor of shape [${t.shape}]`);
    const dtype = hostDTypeOfTf(t);
    return { __detexTensor: 1, dtype, shape: [...t.shape], data: copyInto(dtype, t.dataSync() as ArrayLike<number>) };
  }
  const h = validateHost(t.dtype, t.shape, t.data, 'HostTensor');
  return { __detexTensor: 1, dtype: h.dtype, shape: h.shape, data: copyInto(h.dtype, h.data) };
}

/** Like {@link encodeTensorMsg} but reads a tf.Tensor without blocking (`await t.data()`). */
export async function encodeTensorMsgAsync(t: tf.Tensor | HostTensor): Promise<TensorMsg> {
  if (!isTfTensor(t)) return encodeTensorMsg(t);
  if (t.isDisposed) fail(`cannot encode a disposed tf.Tensor of shape [${t.shape}]`);
  const dtype = hostDTypeOfTf(t);
  const values = (await t.data()) as ArrayLike<number>;
  return { __detexTensor: 1, dtype, shape: [...t.shape], data: copyInto(dtype, values) };
}

/** JSON form (base64 little-endian data) of a tensor msg or tensor. */
export function tensorMsgToJSON(x: TensorMsg | TensorMsgJSON | tf.Tensor | HostTensor): TensorMsgJSON {
  const h: HostTensor = isTensorMsg(x) ? decodeTensorMsgToHost(x) : encodeTensorMsg(x);
  if (!HOST_IS_LE) fail('base64 encoding is implemented for little-endian hosts only');
  const bytes = Buffer.from(h.data.buffer, h.data.byteOffset, h.data.byteLength);
  return { __detexTensor: 1, dtype: h.dtype, shape: [...h.shape], encoding: 'base64', data: bytes.toString('base64') };
}

/**
 * `JSON.stringify(msg, tensorJsonReplacer)` writes every tensor msg inside `msg` in its compact base64
 * JSON form instead of `{"0":..,"1":..}`.
 */
export function tensorJsonReplacer(_key: string, value: unknown): unknown {
  if (isTensorMsg(value) && ArrayBuffer.isView((value as TensorMsg).data)) return tensorMsgToJSON(value);
  return value;
}

function checkShape(shape: unknown): number[] {
  if (!Array.isArray(shape)) fail(`shape must be an array of integers, got ${JSON.stringify(shape)}`);
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      fail(`shape must hold non-negative integers, got [${shape.map((v) => JSON.stringify(v)).join(',')}]`);
    }
  }
  return [...shape] as number[];
}

function checkDType(dtype: unknown): HostDType {
  if (!DTYPES.includes(dtype as HostDType)) {
    fail(`unsupported dtype ${JSON.stringify(dtype)} (expected one of ${DTYPES.join(', ')})`);
  }
  return dtype as HostDType;
}

type HostCtor = Float32ArrayConstructor | Int32ArrayConstructor | Uint8ArrayConstructor;
const TYPED_FOR: Record<HostDType, { ctor: HostCtor }> = {
  float32: { ctor: Float32Array },
  int32: { ctor: Int32Array },
  bool: { ctor: Uint8Array },
  uint8: { ctor: Uint8Array },
};

function fromBase64(dtype: HostDType, b64: string): HostData {
  if (!HOST_IS_LE) fail('base64 decoding is implemented for little-endian hosts only');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) fail(`data is not valid base64 (${b64.length} characters)`);
  const bytes = Buffer.from(b64, 'base64');
  const per = TYPED_FOR[dtype].ctor.BYTES_PER_ELEMENT;
  if (bytes.byteLength % per !== 0) fail(`base64 data has ${bytes.byteLength} bytes, not a multiple of ${per} for ${dtype}`);
  // Copy into a fresh, aligned buffer (Buffer.from may hand out a slice of a shared pool).
  const buf = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(buf).set(bytes);
  if (dtype === 'float32') return new Float32Array(buf);
  if (dtype === 'int32') return new Int32Array(buf);
  return new Uint8Array(buf);
}

/** Turns any accepted `data` field into a typed array of the dtype's host type (no copy if it already is). */
function dataOf(dtype: HostDType, data: unknown): HostData {
  if (typeof data === 'string') return fromBase64(dtype, data);
  if (ArrayBuffer.isView(data)) {
    const want = TYPED_FOR[dtype].ctor;
    if ((data.constructor as unknown) === want || (want === Uint8Array && data instanceof Uint8Array && !Buffer.isBuffer(data))) {
      return data as HostData;
    }
    if (Buffer.isBuffer(data) && want === Uint8Array) return Uint8Array.from(data); // never keep a Buffer
    fail(`data is a ${data.constructor.name} but dtype ${dtype} needs a ${want.name}`);
  }
  if (Array.isArray(data)) return numbersInto(dtype, data);
  if (typeof data === 'object' && data !== null) {
    const o = data as Record<string, unknown>;
    // Node Buffer after JSON.stringify: {type: 'Buffer', data: [...]}.
    if (o.type === 'Buffer' && Array.isArray(o.data)) return numbersInto(dtype, o.data);
    // A typed array after JSON.stringify: {"0": v0, "1": v1, ...}.
    const keys = Object.keys(o);
    const vals: unknown[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const v = o[String(i)];
      if (v === undefined) fail(`data object is not an index-keyed array (missing key "${i}")`);
      vals[i] = v;
    }
    return numbersInto(dtype, vals);
  }
  return fail(`data must be a typed array, a base64 string or an array of numbers, got ${data === null ? 'null' : typeof data}`);
}

function numbersInto(dtype: HostDType, vals: unknown[]): HostData {
  for (let i = 0; i < vals.length; i++) {
    const v = vals[i];
    // null is what JSON makes of NaN / ±Infinity: keep it as NaN for float32.
    if (dtype === 'float32' && v === null) continue;
    if (typeof v !== 'number') fail(`data[${i}] is ${JSON.stringify(v)}, not a number`);
    if (dtype === 'int32' && (!Number.isInteger(v) || v < -2147483648 || v > 2147483647)) fail(`data[${i}] = ${v} is not an int32`);
    if (dtype === 'uint8' && (!Number.isInteger(v) || v < 0 || v > 255)) fail(`data[${i}] = ${v} is not a uint8`);
    if (dtype === 'bool' && v !== 0 && v !== 1) fail(`data[${i}] = ${v} is not a bool (0 or 1)`);
  }
  const nums = vals.map((v) => (v === null ? NaN : (v as number)));
  return copyInto(dtype, nums);
}

function validateHost(dtype: unknown, shape: unknown, data: unknown, what: string): HostTensor {
  const dt = checkDType(dtype);
  const sh = checkShape(shape);
  const d = dataOf(dt, data);
  const n = sizeOf(sh);
  if (d.length !== n) fail(`${what} of shape [${sh}] needs ${n} elements, data has ${d.length}`);
  return { dtype: dt, shape: sh, data: d };
}

/**
 * Validates a tensor msg (live or JSON form) and returns it as a HostTensor. The data is shared with
 * the msg when it already has the right typed array type, so treat the result as read-only.
 */
export function decodeTensorMsgToHost(x: unknown): HostTensor {
  if (isTfTensor(x)) fail('got a live tf.Tensor; tensors travel in msgs as encodeTensorMsg(t)');
  if (!isTensorMsg(x)) {
    const kind = x === null ? 'null' : Array.isArray(x) ? 'an array' : typeof x;
    fail(`expected an object with __detexTensor: ${TENSOR_MSG_VERSION}, got ${kind}`);
  }
  const o = x as unknown as Record<string, unknown>;
  if (o.encoding !== undefined && o.encoding !== 'base64') fail(`unsupported encoding ${JSON.stringify(o.encoding)} (only 'base64')`);
  if (o.encoding === 'base64' && typeof o.data !== 'string') fail('encoding is base64 but data is not a string');
  return validateHost(o.dtype, o.shape, o.data, 'tensor');
}

/**
 * A new tf.Tensor (caller owns and disposes it) from a tensor msg in live or JSON form.
 * uint8 becomes int32 (tfjs has no uint8). Errors name what is wrong (dtype, shape, length).
 */
export function decodeTensorMsg(x: unknown): tf.Tensor {
  const h = decodeTensorMsgToHost(x);
  if (h.dtype === 'uint8') return tf.tensor(Int32Array.from(h.data), h.shape, 'int32');
  return tf.tensor(h.data, h.shape, h.dtype);
}

// ---------------------------------------------------------------------------------------------
// Artifacts by reference
// ---------------------------------------------------------------------------------------------

/** A msg-safe handle on a big artifact: an id in an in-process registry, or a file path. */
export type ArtifactRef = { __detexRef: string; id: string } | { __detexRef: string; path: string };

export function isArtifactRef(x: unknown): x is ArtifactRef {
  if (typeof x !== 'object' || x === null) return false;
  const o = x as Record<string, unknown>;
  return typeof o.__detexRef === 'string' && (typeof o.id === 'string' || typeof o.path === 'string');
}

export function fileRef(kind: string, path: string): ArtifactRef {
  if (!kind) throw new Error('fileRef: kind must be a non-empty string');
  if (!path) throw new Error(`fileRef: path must be a non-empty string (kind '${kind}')`);
  return { __detexRef: kind, path };
}

export interface ArtifactRegistryOptions {
  /** Most artifacts held at once; putting one more releases the least recently used (default 16). */
  maxEntries?: number;
}

interface Entry {
  kind: string;
  value: unknown;
  dispose?: () => void;
}

/**
 * In-process store for artifacts that must not be cloned (models, concept weights as tf.Variables).
 * Only the small ref travels in msgs. Release is deterministic: `release(ref)` disposes at once,
 * and the registry is bounded (LRU eviction disposes the oldest). Gets after release say so.
 */
export class ArtifactRegistry {
  private readonly entries = new Map<string, Entry>(); // insertion order = LRU order
  private readonly gone = new Map<string, string>(); // recently released id -> why
  private readonly maxEntries: number;
  private counter = 0;
  private readonly prefix = `${process.pid.toString(36)}${Date.now().toString(36)}`;

  constructor(opts: ArtifactRegistryOptions = {}) {
    const m = opts.maxEntries ?? 16;
    if (!Number.isInteger(m) || m < 1) throw new Error(`ArtifactRegistry: maxEntries must be an integer >= 1, got ${m}`);
    this.maxEntries = m;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Stores `value` and returns its ref. `dispose` runs on release or eviction; when omitted, a
   * `value.dispose()` method is used if there is one.
   */
  put(kind: string, value: unknown, dispose?: () => void): ArtifactRef {
    if (!kind) throw new Error('ArtifactRegistry.put: kind must be a non-empty string');
    const id = `${kind}:${this.prefix}-${(++this.counter).toString(36)}`;
    const d = dispose ?? defaultDisposer(value);
    this.entries.set(id, { kind, value, dispose: d });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.drop(oldest, `evicted (the registry holds at most ${this.maxEntries} artifacts)`);
    }
    return { __detexRef: kind, id };
  }

  has(ref: ArtifactRef): boolean {
    return 'id' in ref && this.entries.has(ref.id);
  }

  /** The value behind `ref`; throws naming the id if unknown, released, evicted or of another kind. */
  get<T = unknown>(ref: unknown, kind?: string): T {
    if (!isArtifactRef(ref) || !('id' in ref)) {
      throw new Error(`ArtifactRegistry.get: expected {__detexRef, id}, got ${JSON.stringify(ref)}`);
    }
    const e = this.entries.get(ref.id);
    if (!e) {
      const why = this.gone.get(ref.id);
      throw new Error(`ArtifactRegistry.get: artifact ${ref.id} ${why ?? 'is unknown here (released, or from another process)'}`);
    }
    if (kind !== undefined && e.kind !== kind) throw new Error(`ArtifactRegistry.get: artifact ${ref.id} is a '${e.kind}', expected '${kind}'`);
    // Mark as recently used.
    this.entries.delete(ref.id);
    this.entries.set(ref.id, e);
    return e.value as T;
  }

  /** Disposes and forgets `ref`. Returns false if it was not held (already released). */
  release(ref: ArtifactRef): boolean {
    if (!('id' in ref) || !this.entries.has(ref.id)) return false;
    this.drop(ref.id, 'was released');
    return true;
  }

  /** Releases everything (a node's close handler). */
  clear(): void {
    for (const id of [...this.entries.keys()]) this.drop(id, 'was released (registry cleared)');
  }

  private drop(id: string, why: string): void {
    const e = this.entries.get(id);
    if (!e) return;
    this.entries.delete(id);
    this.gone.set(id, why);
    // Remember only a bounded number of tombstones.
    if (this.gone.size > 4 * this.maxEntries) this.gone.delete(this.gone.keys().next().value as string);
    e.dispose?.();
  }
}

function defaultDisposer(value: unknown): (() => void) | undefined {
  if (typeof value === 'object' && value !== null && typeof (value as { dispose?: unknown }).dispose === 'function') {
    return () => (value as { dispose: () => void }).dispose();
  }
  return undefined;
}
