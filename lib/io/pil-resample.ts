/**
 * PIL's (Pillow 9.x) `Image.resize` for 8-bit images with the BICUBIC and BILINEAR filters, bit for bit.
 *
 * Why our own: reference preprocessing resizes with PIL (CLIP/DINO bicubic; SAM's ResizeLongestSide goes
 * through torchvision to PIL bilinear), and neither sharp's resize (not centre aligned when enlarging) nor its
 * affine (blends the background in at the borders) matches it.
 *
 * The algorithm (Pillow `libImaging/Resample.c`), separable, horizontal pass first, then vertical:
 *   scale = in / out; fs = max(scale, 1) (antialiasing: the filter widens when shrinking)
 *   support = filter.support · fs; for output x: center = (x + 0.5) · scale
 *   taps i ∈ [trunc(center − support + 0.5) ∨ 0, trunc(center + support + 0.5) ∧ in)   (C casts truncate)
 *   w_i = K((i − center + 0.5) / fs), normalised to sum 1, then fixed point with 22 fractional bits
 *   (rounded away from zero); each pass accumulates from 1 << 21 (round half up), shifts right by 22 and
 *   clamps to 0..255. The uint8 rounding between the passes is part of the result: a one-pass float
 *   implementation differs by up to one level.
 */

export type PilFilter = 'bicubic' | 'bilinear';

const A = -0.5; // Keys' cubic, as PIL

const FILTERS: Record<PilFilter, { support: number; k: (x: number) => number }> = {
  bicubic: {
    support: 2,
    k: (x) => {
      if (x < 0) x = -x;
      if (x < 1) return ((A + 2) * x - (A + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * A;
      return 0;
    },
  },
  bilinear: { support: 1, k: (x) => (Math.abs(x) < 1 ? 1 - Math.abs(x) : 0) },
};

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;

interface Coeffs {
  start: Int32Array;
  count: Int32Array;
  ksize: number;
  /** fixed-point weights, ksize per output position */
  k: Int32Array;
}

function precompute(inSize: number, outSize: number, filter: PilFilter): Coeffs {
  const { support: base, k: kernel } = FILTERS[filter];
  const scale = inSize / outSize;
  const fs = Math.max(scale, 1);
  const support = base * fs;
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
      w[x] = kernel((x + xmin - center + 0.5) / fs);
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

/** Resamples interleaved uint8 pixels (c channels) from w×h to outW×outH exactly as PIL does. */
export function pilResize(src: Uint8Array, w: number, h: number, c: number, outW: number, outH: number, filter: PilFilter): Uint8Array {
  if (src.length !== w * h * c) throw new Error(`pilResize: ${src.length} bytes do not hold ${w}x${h}x${c}`);
  if (!(Number.isInteger(outW) && Number.isInteger(outH) && outW >= 1 && outH >= 1)) {
    throw new Error(`pilResize: invalid output size ${outW}x${outH}`);
  }
  let cur = src;
  let curW = w;
  if (outW !== w) {
    const co = precompute(w, outW, filter);
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
    const co = precompute(h, outH, filter);
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

/** PIL BICUBIC (CLIP and DINO preprocessing, image I/O). */
export function pilBicubicResize(src: Uint8Array, w: number, h: number, c: number, outW: number, outH: number): Uint8Array {
  return pilResize(src, w, h, c, outW, outH, 'bicubic');
}

/** PIL BILINEAR in SAM's argument order (height before width), as ResizeLongestSide uses it. */
export function resizeBilinearPil(src: Uint8Array, height: number, width: number, channels: number, outHeight: number, outWidth: number): Uint8Array {
  return pilResize(src, width, height, channels, outWidth, outHeight, 'bilinear');
}
