/**
 * PIL's `Image.resize(size, Image.BILINEAR)` for 8-bit images, bit-exact with Pillow 9.x.
 *
 * SAM's `ResizeLongestSide.apply_image` resizes a PIL image through torchvision, i.e. with this resampler.
 * It is not the textbook bilinear interpolation: when downscaling, the triangle filter is stretched by the
 * scale factor (antialiasing), and the arithmetic is fixed-point:
 *   1. per output column / row, the weights are the triangle evaluated at the input pixel centres, in
 *      double precision, normalised to sum 1, then rounded to integers with 22 fraction bits;
 *   2. a horizontal pass writes a uint8 intermediate image (rounded and clipped), then a vertical pass
 *      reads that intermediate. The intermediate rounding is part of the result: a float one-pass
 *      implementation differs by up to one level.
 * Only the rows the vertical pass needs go through the horizontal pass, which does not change values.
 */

/** Fractional bits of the fixed-point weights (Pillow: 32 − 8 − 2). */
const PRECISION_BITS = 22;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);

/** Triangle (tent) filter of support 1. */
function triangle(x: number): number {
  const a = Math.abs(x);
  return a < 1 ? 1 - a : 0;
}

interface Coefficients {
  /** taps per output sample (the row stride of `weights`) */
  ksize: number;
  /** first input index per output sample */
  first: Int32Array;
  /** number of input samples used per output sample */
  count: Int32Array;
  /** fixed-point weights, ksize per output sample */
  weights: Int32Array;
}

/** Filter taps for resampling `inSize` samples to `outSize` (PIL's precompute_coeffs + normalize_coeffs_8bpc). */
function coefficients(inSize: number, outSize: number): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1); // stretch the filter only when downscaling
  const support = 1 * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  const inv = 1 / filterScale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // PIL rounds with a C cast, which truncates toward zero (matters for negative values).
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let sum = 0;
    for (let x = 0; x < xmax; x++) {
      w[x] = triangle((x + xmin - center + 0.5) * inv);
      sum += w[x];
    }
    for (let x = 0; x < xmax; x++) {
      const k = sum !== 0 ? w[x] / sum : w[x];
      weights[xx * ksize + x] = k < 0 ? Math.trunc(-0.5 + k * ONE) : Math.trunc(0.5 + k * ONE);
    }
    first[xx] = xmin;
    count[xx] = xmax;
  }
  return { ksize, first, count, weights };
}

/** Rounds a fixed-point accumulator back to a level and clips to [0, 255] (PIL's clip8). */
function clip8(acc: number): number {
  if (acc >= ONE * 256) return 255;
  if (acc <= 0) return 0;
  return Math.floor(acc / ONE);
}

/**
 * Resizes an interleaved HWC uint8 image.
 * @param src   pixels, `height × width × channels`
 * @returns     pixels, `outHeight × outWidth × channels`
 */
export function resizeBilinearPil(
  src: Uint8Array,
  height: number,
  width: number,
  channels: number,
  outHeight: number,
  outWidth: number,
): Uint8Array {
  if (src.length !== height * width * channels) {
    throw new Error(`resizeBilinearPil: ${src.length} bytes do not hold a ${height}×${width}×${channels} image`);
  }
  if (!(outHeight >= 1 && outWidth >= 1 && Number.isInteger(outHeight) && Number.isInteger(outWidth))) {
    throw new Error(`resizeBilinearPil: invalid output size ${outHeight}×${outWidth}`);
  }
  if (outHeight === height && outWidth === width) return src.slice();

  const vert = coefficients(height, outHeight);
  // Rows of the source the vertical pass reads.
  const rowFirst = vert.first[0];
  const rowLast = vert.first[outHeight - 1] + vert.count[outHeight - 1];

  // 1. Horizontal pass, into a uint8 intermediate of the needed rows (skipped when the width is unchanged).
  let mid: Uint8Array;
  let midRow0: number; // source row index of mid's row 0
  if (outWidth !== width) {
    const horiz = coefficients(width, outWidth);
    const rows = rowLast - rowFirst;
    mid = new Uint8Array(rows * outWidth * channels);
    for (let y = 0; y < rows; y++) {
      const srcRow = (y + rowFirst) * width * channels;
      const dstRow = y * outWidth * channels;
      for (let xx = 0; xx < outWidth; xx++) {
        const x0 = horiz.first[xx];
        const n = horiz.count[xx];
        const k0 = xx * horiz.ksize;
        for (let c = 0; c < channels; c++) {
          let acc = HALF;
          for (let x = 0; x < n; x++) acc += src[srcRow + (x0 + x) * channels + c] * horiz.weights[k0 + x];
          mid[dstRow + xx * channels + c] = clip8(acc);
        }
      }
    }
    midRow0 = rowFirst;
  } else {
    mid = src;
    midRow0 = 0;
  }
  if (outHeight === height) return mid;

  // 2. Vertical pass.
  const out = new Uint8Array(outHeight * outWidth * channels);
  const stride = outWidth * channels;
  for (let yy = 0; yy < outHeight; yy++) {
    const y0 = vert.first[yy] - midRow0;
    const n = vert.count[yy];
    const k0 = yy * vert.ksize;
    for (let i = 0; i < stride; i++) {
      let acc = HALF;
      for (let y = 0; y < n; y++) acc += mid[(y0 + y) * stride + i] * vert.weights[k0 + y];
      out[yy * stride + i] = clip8(acc);
    }
  }
  return out;
}
