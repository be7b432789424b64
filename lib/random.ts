/**
 * Seeded, backend-independent randomness.
 *
 * Why not tf.randomNormal: its `seed` gives different numbers on the CPU and WASM backends (and tfjs-node),
 * so a seed would not reproduce an image across machines. Everything here is plain integer arithmetic in JS
 * (xoshiro128** seeded through splitmix32), so the same seed gives the same bits on every backend and run.
 * Normals use Box–Muller on 53-bit uniforms; V8's Math.log/sin/cos are fdlibm ports, deterministic across
 * platforms.
 *
 * Streams are forkable: `rng.fork('latents')` derives an independent generator from the parent's *seed*
 * (not its position), so adding a draw in one place never shifts the numbers drawn in another.
 */

const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;

/** splitmix32: expands one 32-bit word into well-mixed words (seeding only). */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** FNV-1a over a string, for fork labels. */
function hashString(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`Rng: invalid shape [${shape.join(', ')}]`);
    n *= d;
  }
  return n;
}

export class Rng {
  /** The 4 words the generator was seeded with; forks derive from these, never from the running state. */
  private readonly seedWords: readonly number[];
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  /** Box–Muller makes normals in pairs; the second one is kept for the next call. */
  private spareNormal: number | null = null;

  /** `seed`: any integer in [0, 2^53) (or negative ones, folded in), or a 4-word seed from `fork`. */
  constructor(seed: number | readonly number[]) {
    let words: number[];
    if (typeof seed === 'number') {
      if (!Number.isFinite(seed) || !Number.isInteger(seed)) {
        throw new Error(`Rng: seed must be an integer, got ${seed}`);
      }
      const lo = seed >>> 0;
      const hi = Math.floor(seed / TWO_POW_32) >>> 0;
      const st = { s: lo ^ Math.imul(hi, 0x27d4eb2d) };
      words = [splitmix32(st), splitmix32(st), splitmix32(st), splitmix32(st)];
    } else {
      if (seed.length !== 4) throw new Error(`Rng: a word seed has 4 words, got ${seed.length}`);
      words = seed.map((w) => w >>> 0);
    }
    // xoshiro's state must not be all zero.
    if (!words.some((w) => w !== 0)) words[0] = 1;
    this.seedWords = words;
    [this.s0, this.s1, this.s2, this.s3] = words;
  }

  /** Next 32-bit unsigned integer (xoshiro128**). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A double uniform in [0, 1) with 53 random bits. */
  nextDouble(): number {
    const a = this.nextUint32() >>> 5; // 27 bits
    const b = this.nextUint32() >>> 6; // 26 bits
    return (a * 67108864 + b) / TWO_POW_53;
  }

  /** A standard normal double (Box–Muller, pairs cached). */
  nextNormal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    const u1 = 1 - this.nextDouble(); // (0, 1]: log stays finite
    const u2 = this.nextDouble();
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    this.spareNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** Float32 standard normals, row-major for `shape`. */
  normal(shape: readonly number[]): Float32Array {
    const out = new Float32Array(sizeOf(shape));
    for (let i = 0; i < out.length; i++) out[i] = this.nextNormal();
    return out;
  }

  /** Float32 uniforms in [low, high), row-major for `shape`. */
  uniform(shape: readonly number[], low = 0, high = 1): Float32Array {
    const out = new Float32Array(sizeOf(shape));
    for (let i = 0; i < out.length; i++) {
      // 24 bits: exactly representable in float32, so the value is never rounded up to `high` when low=0, high=1.
      const u = (this.nextUint32() >>> 8) / 16777216;
      out[i] = low + (high - low) * u;
    }
    return out;
  }

  /** A uniform integer in [0, n), without modulo bias (rejection sampling). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > TWO_POW_32) {
      throw new Error(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    }
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** `count` uniform integers in [0, n). */
  ints(count: number, n: number): Int32Array {
    const out = new Int32Array(count);
    for (let i = 0; i < count; i++) out[i] = this.int(n);
    return out;
  }

  /**
   * An independent child stream named by `key`. Derived from this generator's seed only, so
   * `new Rng(s).fork('a')` is the same stream whatever was drawn from the parent before.
   */
  fork(key: string | number): Rng {
    const k = typeof key === 'number' ? hashString(`#${key}`) : hashString(key);
    const st = { s: k };
    const words = this.seedWords.map((w) => (w ^ splitmix32(st)) >>> 0);
    // One more mixing round so nearby keys give unrelated states.
    const mix = { s: words[0] ^ rotl(words[1], 7) ^ rotl(words[2], 13) ^ rotl(words[3], 19) };
    return new Rng(words.map((w) => (w + splitmix32(mix)) >>> 0));
  }
}

/** Shorthand: `new Rng(seed)`. */
export function createRng(seed: number): Rng {
  return new Rng(seed);
}
