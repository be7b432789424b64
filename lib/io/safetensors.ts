/**
 * safetensors: an 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}},
 * optional "__metadata__" (string → string), then the raw little-endian data.
 *
 * Reading goes one tensor at a time through a file descriptor, so multi-GB checkpoints never sit in memory
 * whole. Every header is validated before any data is trusted: sizes, bounds, overlaps, dtype×shape vs byte
 * length. Errors name the file and the tensor.
 */
import * as fs from 'fs';
import { writeFileAtomic } from './atomic-write';
import { HostTensor, HostData, sizeOf, hostTensor } from './host-tensor';
import { float16ToFloat32, bfloat16ToFloat32 } from './half-float';

export type SafetensorsDType = 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'U8' | 'BOOL';

const BYTES: Record<SafetensorsDType, number> = { F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, U8: 1, BOOL: 1 };
/** Larger JSON headers are refused: the reference implementation caps at 100 MB too. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface TensorEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** absolute byte range in the file */
  begin: number;
  end: number;
}

export class SafetensorsError extends Error {}

function fail(file: string, problem: string): never {
  throw new SafetensorsError(`${file}: ${problem}`);
}

function parseHeader(file: string, json: string, dataStart: number, fileSize: number) {
  let header: unknown;
  try {
    header = JSON.parse(json);
  } catch (e) {
    fail(file, `header is not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail(file, 'header is not a JSON object');
  const entries: TensorEntry[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail(file, '__metadata__ is not an object');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(file, `__metadata__.${k} is not a string`);
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof info !== 'object' || info === null) fail(file, `tensor "${name}": entry is not an object`);
    const dtype = info.dtype as SafetensorsDType;
    if (typeof dtype !== 'string' || !(dtype in BYTES)) {
      fail(file, `tensor "${name}": dtype ${JSON.stringify(info.dtype)} is not supported (F32, F16, BF16, I64, I32, U8, BOOL)`);
    }
    const shape = info.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      fail(file, `tensor "${name}": shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    }
    const offs = info.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0) || offs[0] > offs[1]) {
      fail(file, `tensor "${name}": data_offsets ${JSON.stringify(offs)} are not [begin, end] with 0 <= begin <= end`);
    }
    const want = sizeOf(shape as number[]) * BYTES[dtype];
    if (offs[1] - offs[0] !== want) {
      fail(file, `tensor "${name}": ${dtype} [${shape}] needs ${want} bytes but data_offsets span ${offs[1] - offs[0]}`);
    }
    const begin = dataStart + offs[0];
    const end = dataStart + offs[1];
    if (end > fileSize) {
      fail(file, `tensor "${name}": data ends at byte ${end} but the file has ${fileSize} bytes (truncated?)`);
    }
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].begin < sorted[i - 1].end) {
      fail(file, `tensors "${sorted[i - 1].name}" and "${sorted[i].name}" overlap in the data section`);
    }
  }
  return { entries, metadata };
}

export class SafetensorsReader {
  private fd: number | undefined;
  private readonly byName = new Map<string, TensorEntry>();

  private constructor(readonly path: string, fd: number, entries: TensorEntry[], readonly metadata: Record<string, string>) {
    this.fd = fd;
    for (const e of entries) this.byName.set(e.name, e);
  }

  static open(path: string): SafetensorsReader {
    let fd: number;
    try {
      fd = fs.openSync(path, 'r');
    } catch (e) {
      throw new SafetensorsError(`${path}: cannot open (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size < 8) fail(path, `file has ${size} bytes, fewer than the 8-byte header length`);
      const lenBuf = Buffer.alloc(8);
      fs.readSync(fd, lenBuf, 0, 8, 0);
      const len = lenBuf.readBigUInt64LE(0);
      if (len > BigInt(MAX_HEADER_BYTES)) fail(path, `header length ${len} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
      const n = Number(len);
      if (8 + n > size) fail(path, `header length ${n} runs past the end of the file (${size} bytes; truncated?)`);
      const hb = Buffer.alloc(n);
      fs.readSync(fd, hb, 0, n, 8);
      const { entries, metadata } = parseHeader(path, hb.toString('utf8'), 8 + n, size);
      return new SafetensorsReader(path, fd, entries, metadata);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  keys(): string[] {
    return [...this.byName.keys()];
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  info(name: string): TensorEntry {
    const e = this.byName.get(name);
    if (!e) throw new SafetensorsError(`${this.path}: no tensor named "${name}"`);
    return e;
  }

  /** Reads one tensor. F16/BF16 → float32, I64 → int32 (range-checked), U8 → uint8, BOOL → bool. */
  read(name: string): HostTensor {
    const e = this.info(name);
    if (this.fd === undefined) throw new SafetensorsError(`${this.path}: reader is closed`);
    const bytes = Buffer.alloc(e.end - e.begin);
    let got = 0;
    while (got < bytes.length) {
      const r = fs.readSync(this.fd, bytes, got, bytes.length - got, e.begin + got);
      if (r === 0) fail(this.path, `tensor "${name}": unexpected end of file`);
      got += r;
    }
    return hostTensor(hostDType(e.dtype), e.shape, decode(this.path, e, bytes));
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

function hostDType(d: SafetensorsDType): HostTensor['dtype'] {
  switch (d) {
    case 'F32': case 'F16': case 'BF16': return 'float32';
    case 'I64': case 'I32': return 'int32';
    case 'U8': return 'uint8';
    case 'BOOL': return 'bool';
  }
}

function decode(file: string, e: TensorEntry, b: Buffer): HostData {
  const n = sizeOf(e.shape);
  // Copy into an aligned buffer: typed-array views need an offset that is a multiple of the element size.
  const ab = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  switch (e.dtype) {
    case 'F32': return new Float32Array(ab, 0, n);
    case 'I32': return new Int32Array(ab, 0, n);
    case 'U8': return new Uint8Array(ab, 0, n);
    case 'BOOL': {
      const u = new Uint8Array(ab, 0, n);
      for (let i = 0; i < n; i++) if (u[i] > 1) fail(file, `tensor "${e.name}": BOOL byte ${u[i]} at index ${i} is not 0 or 1`);
      return u;
    }
    case 'F16': return float16ToFloat32(new Uint16Array(ab, 0, n));
    case 'BF16': return bfloat16ToFloat32(new Uint16Array(ab, 0, n));
    case 'I64': {
      const big = new BigInt64Array(ab, 0, n);
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = big[i];
        if (v > 2147483647n || v < -2147483648n) fail(file, `tensor "${e.name}": I64 value ${v} at index ${i} does not fit int32`);
        out[i] = Number(v);
      }
      return out;
    }
  }
}

/** Reads every tensor of a file. Prefer SafetensorsReader for large files. */
export function readSafetensors(path: string): { tensors: Map<string, HostTensor>; metadata: Record<string, string> } {
  const r = SafetensorsReader.open(path);
  try {
    const tensors = new Map<string, HostTensor>();
    for (const k of r.keys()) tensors.set(k, r.read(k));
    return { tensors, metadata: r.metadata };
  } finally {
    r.close();
  }
}

/** A tensor to write; `as` overrides the stored dtype (e.g. store float32 data as F16 or ints as I64). */
export interface WritableTensor extends HostTensor {
  as?: SafetensorsDType;
}

function defaultDType(h: HostTensor): SafetensorsDType {
  return ({ float32: 'F32', int32: 'I32', uint8: 'U8', bool: 'BOOL' } as const)[h.dtype];
}

function encode(name: string, h: WritableTensor, dtype: SafetensorsDType): Uint8Array {
  const n = sizeOf(h.shape);
  if (h.data.length !== n) throw new SafetensorsError(`tensor "${name}": shape [${h.shape}] needs ${n} values, has ${h.data.length}`);
  switch (dtype) {
    case 'F32': return new Uint8Array(Float32Array.from(h.data).buffer);
    case 'I32': return new Uint8Array(Int32Array.from(h.data).buffer);
    case 'U8': case 'BOOL': return Uint8Array.from(h.data);
    case 'I64': return new Uint8Array(BigInt64Array.from(Array.from(h.data, (v) => BigInt(Math.trunc(v)))).buffer);
    case 'F16': case 'BF16': {
      const { float32ToFloat16, float32ToBfloat16 } = require('./half-float') as typeof import('./half-float');
      const f = Float32Array.from(h.data);
      return new Uint8Array((dtype === 'F16' ? float32ToFloat16(f) : float32ToBfloat16(f)).buffer);
    }
  }
}

/** Writes tensors (sorted by name, like the reference) with optional string metadata, atomically. */
export function writeSafetensors(
  path: string,
  tensors: Map<string, WritableTensor> | Record<string, WritableTensor>,
  metadata?: Record<string, string>,
): void {
  const items = (tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata) {
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') throw new SafetensorsError(`metadata "${k}" must be a string`);
    header.__metadata__ = metadata;
  }
  const blobs: Uint8Array[] = [];
  let offset = 0;
  for (const [name, h] of items) {
    if (name === '__metadata__') throw new SafetensorsError('"__metadata__" is reserved and cannot name a tensor');
    const dtype = h.as ?? defaultDType(h);
    const blob = encode(name, h, dtype);
    header[name] = { dtype, shape: h.shape, data_offsets: [offset, offset + blob.byteLength] };
    blobs.push(blob);
    offset += blob.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const jsonBytes = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(jsonBytes.byteLength));
  writeFileAtomic(path, [len, jsonBytes, ...blobs]);
}
