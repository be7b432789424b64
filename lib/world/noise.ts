/**
 * Seeded value noise and fBm, written out in plain integer arithmetic so a texture is bit-identical on
 * every machine (no Math.random, no platform-dependent trig in the hash). Coordinates are in "lattice
 * units": callers scale normalised image coordinates by a frequency, so a texture looks the same at
 * 32 px and at 256 px (only sharper).
 */

/** A 32-bit hash of a lattice point and a seed, as a float in [0, 1). */
export function hash2(ix: number, iy: number, seed: number): number {
  let h = Math.imul(ix | 0, 0x27d4eb2d) ^ Math.imul(iy | 0, 0x165667b1) ^ Math.imul(seed | 0, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

/**
 * The value lattice: one fixed 256×256 table of hash values, built once. A seed selects a lattice
 * offset (65 536 distinct fields), which costs two table reads per corner instead of four integer
 * hashes — 2–3× faster, and renders must reach hundreds of images per second on one core. The
 * table repeats every 256 lattice units, far beyond the highest frequency used (~180 per image).
 */
const TABLE = (() => {
  const t = new Float64Array(256 * 256);
  for (let i = 0; i < t.length; i++) t[i] = hash2(i & 255, i >>> 8, 0x5eed);
  return t;
})();

/** Smooth (C1) value noise in [0, 1). */
export function valueNoise(x: number, y: number, seed: number): number {
  const ix = Math.floor(x);
  const iy = Math.floor(y);
  const fx = x - ix;
  const fy = y - iy;
  // smoothstep weights: no visible lattice creases
  const sx = fx * fx * (3 - 2 * fx);
  const sy = fy * fy * (3 - 2 * fy);
  const ox = (ix + (Math.imul(seed, 0x9e3779b1) >>> 24)) & 255;
  const oy = (iy + (Math.imul(seed ^ 0x5bd1e995, 0x85ebca6b) >>> 24)) & 255;
  const ox1 = (ox + 1) & 255;
  const r0 = oy << 8;
  const r1 = ((oy + 1) & 255) << 8;
  const a = TABLE[r0 + ox];
  const b = TABLE[r0 + ox1];
  const c = TABLE[r1 + ox];
  const d = TABLE[r1 + ox1];
  const top = a + (b - a) * sx;
  const bottom = c + (d - c) * sx;
  return top + (bottom - top) * sy;
}

/** Fractal sum of `octaves` value-noise layers (lacunarity 2, gain 0.5), normalised to [0, 1). */
export function fbm(x: number, y: number, seed: number, octaves: number): number {
  let sum = 0;
  let amp = 0.5;
  let norm = 0;
  let f = 1;
  for (let o = 0; o < octaves; o++) {
    // each octave gets its own seed so layers do not line up on the lattice
    sum += amp * valueNoise(x * f, y * f, seed + o * 1013);
    norm += amp;
    amp *= 0.5;
    f *= 2;
  }
  return sum / norm;
}

export function smoothstep(e0: number, e1: number, x: number): number {
  const t = Math.min(1, Math.max(0, (x - e0) / (e1 - e0)));
  return t * t * (3 - 2 * t);
}

export function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}
