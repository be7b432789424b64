/**
 * PIL's (Pillow 9.x) BICUBIC resize for 8-bit images, reproduced bit for bit in TypeScript.
 *
 * Why our own: CLIP/DINO preprocessing references resize with PIL, and neither sharp's resize (not
 * centre aligned when enlarging) nor its affine (blends the background in at the borders) matches it.
 *
 * The algorithm (Pillow `libImaging/Resample.c`), separable, horizontal pass first, then vertical:
 *   scale = in / out; fs = max(scale, 1) (antialiasing: the kernel widens when shrinking)
 *   support = 2 · fs; for output x: center = (x + 0.5) · scale
 *   taps i ∈ [trunc(center − support + 0.5) ∨ 0, trunc(center + support + 0.5) ∧ in)
 *   w_i = K((i − center + 0.5) / fs), K = Keys cubic with a = −0.5; weights normalised to sum 1,
 *   then fixed point with 22 fractional bits (rounded away from zero); each pass accumulates from
 *   1 << 21 (round half up), shifts right by 22 and clamps to 0..255.
 */

const A = -0.5;
const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;

function bicubic(x: number): number {
  if (x < 0) x = -x;
  if (x < 1) return ((A + 2) * x - (A + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * A;
  return 0;
}

interface Coeffs {
  start: Int32Array;
  count: Int32Array;
  ksize: number;
  /** fixed-point weights, ksize per output position */
  k: Int32Array;
}

function precompute(inSize: number, outSize: number): Coeffs {
  const scale = inSize / outSize;
  const fs = Math.max(scale, 1);
  const support = 2 * fs;
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const k = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      w[x] = bicubic((x + xmin - center + 0.5) / fs);
      ww += w[x];
    }
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0 ? w[x] / ww : w[x];
      k[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * ONE) : Math.trunc(0.5 + v * ONE);
    }
    start[xx] = xmin;
    count[xx] = xmax;
  }
  return { start, count, ksize, k };
}

function clip8(acc: number): number {
  const v = Math.floor(acc / ONE);
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** Resamples interleaved uint8 pixels (c channels) from w×h to outW×outH exactly as PIL BICUBIC. */
export function pilBicubicResize(src: Uint8Array, w: number, h: number, c: number, outW: number, outH: number): Uint8Array {
  if (src.length !== w * h * c) throw new Error(`pilBicubicResize: ${src.length} bytes do not hold ${w}x${h}x${c}`);
  let cur = src;
  let curW = w;
  if (outW !== w) {
    const co = precompute(w, outW);
    const out = new Uint8Array(outW * h * c);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < outW; x++) {
        const s = co.start[x];
        const n = co.count[x];
        const kb = x * co.ksize;
        for (let ch = 0; ch < c; ch++) {
          let acc = ONE / 2;
          for (let i = 0; i < n; i++) acc += src[(y * w + s + i) * c + ch] * co.k[kb + i];
          out[(y * outW + x) * c + ch] = clip8(acc);
        }
      }
    }
    cur = out;
    curW = outW;
  }
  if (outH !== h) {
    const co = precompute(h, outH);
    const out = new Uint8Array(curW * outH * c);
    const row = curW * c;
    for (let y = 0; y < outH; y++) {
      const s = co.start[y];
      const n = co.count[y];
      const kb = y * co.ksize;
      for (let j = 0; j < row; j++) {
        let acc = ONE / 2;
        for (let i = 0; i < n; i++) acc += cur[(s + i) * row + j] * co.k[kb + i];
        out[y * row + j] = clip8(acc);
      }
    }
    cur = out;
  }
  return cur === src ? Uint8Array.from(src) : cur;
}
