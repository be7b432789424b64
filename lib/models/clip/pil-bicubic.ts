/**
 * Pillow's BICUBIC resize for 8-bit images (Pillow 9.x `ImagingResample`), reproduced so CLIP preprocessing
 * matches the reference pixel for pixel. The rules that matter:
 *  - separable: a horizontal pass, rounded to uint8, then a vertical pass;
 *  - pixel-centre aligned: output pixel i samples around (i + 0.5)·scale;
 *  - antialiased: when shrinking, the kernel is stretched by the scale (support 2·scale) and its argument
 *    divided by it;
 *  - Keys cubic with a = −0.5, taps normalized to sum 1, then converted to 22-bit fixed point and
 *    accumulated in integers with rounding (+2^21) before the shift.
 */

const PRECISION_BITS = 32 - 8 - 2;
const BICUBIC_SUPPORT = 2;
const A = -0.5;

function cubic(x: number): number {
  const t = Math.abs(x);
  if (t < 1) return ((A + 2) * t - (A + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * A;
  return 0;
}

interface Taps {
  /** first input index per output pixel */
  start: Int32Array;
  /** number of taps per output pixel */
  count: Int32Array;
  /** fixed-point weights, `ksize` per output pixel */
  weights: Int32Array;
  ksize: number;
}

/** Tap positions and fixed-point weights for resampling `inSize` samples to `outSize`. */
function taps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = BICUBIC_SUPPORT * filterScale;
  const invFilterScale = 1 / filterScale; // Pillow multiplies by the reciprocal; dividing can differ by an ulp
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    // C casts truncate toward zero, then clamp into the image
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    const n = xmax - xmin;
    let sum = 0;
    for (let x = 0; x < n; x++) {
      k[x] = cubic((x + xmin - center + 0.5) * invFilterScale);
      sum += k[x];
    }
    for (let x = 0; x < n; x++) {
      const w = sum !== 0 ? k[x] / sum : k[x];
      // round half away from zero, as Pillow's normalize_coeffs_8bpc
      weights[o * ksize + x] = w < 0 ? Math.trunc(-0.5 + w * (1 << PRECISION_BITS)) : Math.trunc(0.5 + w * (1 << PRECISION_BITS));
    }
    start[o] = xmin;
    count[o] = n;
  }
  return { start, count, weights, ksize };
}

function clip8(acc: number): number {
  const v = acc >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * Resizes an interleaved uint8 image (HWC, `channels` per pixel) to outW × outH with Pillow's BICUBIC.
 * A pass whose size does not change is skipped, as Pillow does.
 */
export function resizeBicubicPIL(src: Uint8Array, w: number, h: number, channels: number, outW: number, outH: number): Uint8Array {
  if (src.length !== w * h * channels) throw new Error(`resizeBicubicPIL: buffer has ${src.length} bytes, expected ${w}×${h}×${channels}`);
  if (!(outW > 0 && outH > 0)) throw new Error(`resizeBicubicPIL: output size ${outW}×${outH} must be positive`);
  let img = src;
  let curW = w;
  const half = 1 << (PRECISION_BITS - 1);
  if (outW !== w) {
    const t = taps(w, outW);
    const out = new Uint8Array(outW * h * channels);
    for (let y = 0; y < h; y++) {
      const row = y * w * channels;
      for (let o = 0; o < outW; o++) {
        const base = o * t.ksize;
        for (let c = 0; c < channels; c++) {
          let acc = half;
          for (let i = 0; i < t.count[o]; i++) acc += img[row + (t.start[o] + i) * channels + c] * t.weights[base + i];
          out[(y * outW + o) * channels + c] = clip8(acc);
        }
      }
    }
    img = out;
    curW = outW;
  }
  if (outH !== h) {
    const t = taps(h, outH);
    const out = new Uint8Array(curW * outH * channels);
    const stride = curW * channels;
    for (let o = 0; o < outH; o++) {
      const base = o * t.ksize;
      for (let x = 0; x < stride; x++) {
        let acc = half;
        for (let i = 0; i < t.count[o]; i++) acc += img[(t.start[o] + i) * stride + x] * t.weights[base + i];
        out[o * stride + x] = clip8(acc);
      }
    }
    img = out;
  }
  return img === src ? src.slice() : img;
}
