/**
 * PyTorch 1.13's `F.interpolate(mode='bicubic', align_corners=False, scale_factor=s)` on the CPU, written
 * out as separable resampling matrices so it runs as two matmuls (and stays differentiable in tfjs).
 *
 * The rule, per axis (torch `upsample_bicubic2d_out_frame` with `area_pixel_compute_source_index`):
 *   out_size = floor(in_size · s)
 *   src      = (dst + 0.5) / s − 0.5           ← the GIVEN scale factor, not out/in
 *   i0 = floor(src), t = src − i0
 *   out[dst] = Σ_k w_k(t) · in[clamp(i0 − 1 + k, 0, in − 1)],  k = 0..3   (taps clamped to the border)
 *   w(t) = Keys' cubic convolution with A = −0.75 (PIL uses −0.5); no antialiasing when shrinking.
 * And one special case of that CPU kernel: when BOTH output sizes equal the input sizes it copies the
 * input unchanged (even though s ≠ 1 would otherwise shift the samples).
 *
 * Weights are computed in float64; callers cast to float32 when building a tensor.
 */
import * as tf from '@tensorflow/tfjs-core';

export const TORCH_BICUBIC_A = -0.75;

/** |x| ≤ 1 branch of the cubic convolution kernel. */
function cubic1(x: number, a: number): number {
  return ((a + 2) * x - (a + 3)) * x * x + 1;
}

/** 1 < |x| < 2 branch. */
function cubic2(x: number, a: number): number {
  return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
}

/** The four tap weights for fractional offset t ∈ [0, 1): taps at i0−1, i0, i0+1, i0+2. */
export function cubicWeights(t: number, a = TORCH_BICUBIC_A): [number, number, number, number] {
  return [cubic2(t + 1, a), cubic1(t, a), cubic1(1 - t, a), cubic2(2 - t, a)];
}

/** Output length F.interpolate gives for `inSize` and `scale` (recompute_scale_factor unset). */
export function torchScaledSize(inSize: number, scale: number): number {
  return Math.floor(inSize * scale);
}

/**
 * The [outSize, inSize] matrix M with out = M · in along one axis, for scale factor `scale`.
 * `outSize` defaults to floor(inSize·scale).
 */
export function torchBicubicMatrix(inSize: number, scale: number, outSize = torchScaledSize(inSize, scale)): Float64Array {
  if (!(scale > 0) || !Number.isFinite(scale)) throw new Error(`torchBicubicMatrix: scale must be a positive number, got ${scale}`);
  if (!Number.isInteger(inSize) || inSize < 1 || !Number.isInteger(outSize) || outSize < 1) {
    throw new Error(`torchBicubicMatrix: sizes must be positive integers, got in=${inSize} out=${outSize} (scale ${scale})`);
  }
  const m = new Float64Array(outSize * inSize);
  const inv = 1 / scale;
  for (let dst = 0; dst < outSize; dst++) {
    const src = (dst + 0.5) * inv - 0.5; // not clamped at 0: the cubic path of torch keeps negatives
    const i0 = Math.floor(src);
    const w = cubicWeights(src - i0);
    for (let k = 0; k < 4; k++) {
      const idx = Math.min(Math.max(i0 - 1 + k, 0), inSize - 1);
      m[dst * inSize + idx] += w[k];
    }
  }
  return m;
}

/**
 * Resizes an [H, W, C] tensor (channels last) the way torch bicubic resizes the H and W of an NCHW
 * tensor with `scale_factor=(scaleH, scaleW)`. Returns a new tensor [floor(H·sH), floor(W·sW), C].
 */
export function torchBicubicResizeHWC(x: tf.Tensor3D, scaleH: number, scaleW: number): tf.Tensor3D {
  const [h, w, c] = x.shape;
  const oh = torchScaledSize(h, scaleH);
  const ow = torchScaledSize(w, scaleW);
  if (oh < 1 || ow < 1) throw new Error(`torchBicubicResizeHWC: [${h},${w}] with scale (${scaleH}, ${scaleW}) gives an empty output [${oh},${ow}]`);
  if (oh === h && ow === w) return tf.clone(x); // torch CPU: same size → plain copy
  return tf.tidy(() => {
    const mh = tf.tensor2d(Float32Array.from(torchBicubicMatrix(h, scaleH, oh)), [oh, h]);
    const mw = tf.tensor2d(Float32Array.from(torchBicubicMatrix(w, scaleW, ow)), [ow, w]);
    // Rows: [oh, h] · [h, w·c] → [oh, w, c]
    const rows = tf.reshape(tf.matMul(mh, tf.reshape(x, [h, w * c])), [oh, w, c]);
    // Columns: bring W to the front, [ow, w] · [w, oh·c] → [ow, oh, c], then back to [oh, ow, c].
    const wFirst = tf.reshape(tf.transpose(rows, [1, 0, 2]), [w, oh * c]);
    const cols = tf.reshape(tf.matMul(mw, wFirst), [ow, oh, c]);
    return tf.transpose(cols, [1, 0, 2]) as tf.Tensor3D;
  });
}
