/**
 * Bench inputs shared by our implementation and bench/reference.py: seeded float32 arrays written
 * as raw little-endian files, so both sides time the very same numbers.
 */
import * as fs from 'fs';
import * as path from 'path';

/** Uniform in [lo, hi) from a 32-bit LCG (numerics are irrelevant to timing; identity is what matters). */
export function seeded(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const v = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    v[i] = lo + ((s >>> 8) / 16777216) * (hi - lo);
  }
  return v;
}

export function writeInput(dir: string, name: string, shape: number[], seed: number, lo = -1, hi = 1): void {
  const n = shape.reduce((p, d) => p * d, 1);
  const v = seeded(n, seed, lo, hi);
  fs.writeFileSync(path.join(dir, `${name}.f32`), Buffer.from(v.buffer, v.byteOffset, v.byteLength));
}

export function readInput(dir: string, name: string): Float32Array {
  const b = fs.readFileSync(path.join(dir, `${name}.f32`));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}
