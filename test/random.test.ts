import * as assert from 'assert';
import { Rng } from '../lib/random';

describe('random: seeded Rng (xoshiro128**)', () => {
  it('should give the same numbers for the same seed, and different ones for another seed', () => {
    const a = new Rng(42).normal([64]);
    const b = new Rng(42).normal([64]);
    const c = new Rng(43).normal([64]);
    assert.deepStrictEqual(a, b);
    assert.notDeepStrictEqual(a, c);
  });

  it('should pin the first outputs of seed 0 (reproducible across backends, platforms and releases)', () => {
    const r = new Rng(0);
    const words = [r.nextUint32(), r.nextUint32(), r.nextUint32()];
    // If this changes, every saved seed changes meaning: do not update it casually.
    assert.deepStrictEqual(words, PINNED_SEED0);
  });

  it('should draw normals with mean ≈ 0 and variance ≈ 1 (n=200000)', () => {
    const x = new Rng(7).normal([200000]);
    let m = 0;
    for (const v of x) m += v;
    m /= x.length;
    let v2 = 0;
    for (const v of x) v2 += (v - m) ** 2;
    v2 /= x.length;
    assert.ok(Math.abs(m) < 0.01, `mean ${m}`);
    assert.ok(Math.abs(v2 - 1) < 0.02, `variance ${v2}`);
  });

  it('should draw uniforms in [0,1) and ints in [0,n) covering the range', () => {
    const r = new Rng(3);
    const u = r.uniform([10000]);
    assert.ok(u.every((v) => v >= 0 && v < 1));
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 7000; i++) counts[r.int(7)]++;
    assert.ok(counts.every((c) => c > 850 && c < 1150), `counts ${counts}`);
    assert.throws(() => r.int(0), /n must be an integer/);
  });

  it('should fork streams that depend only on the parent seed and the key', () => {
    const p1 = new Rng(5);
    const p2 = new Rng(5);
    p2.normal([100]); // drawing from the parent must not shift a fork
    assert.deepStrictEqual(p1.fork('latents').normal([8]), p2.fork('latents').normal([8]));
    assert.notDeepStrictEqual(p1.fork('latents').normal([8]), p1.fork('noise').normal([8]));
    assert.notDeepStrictEqual(p1.fork(0).normal([8]), p1.fork(1).normal([8]));
  });

  it('should reject non-integer seeds', () => {
    assert.throws(() => new Rng(1.5), /seed must be an integer/);
  });
});

const PINNED_SEED0 = [3809008728, 1133695204, 53579671];
