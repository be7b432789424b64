/**
 * How much of a latent's variation is fine detail: the share of its (mean-removed) 2-D power spectrum at or above
 * half the grid's Nyquist radius, per channel, pooled over a batch. Session 13 measured the detex-mini VAE's
 * latents at 0.45 where the same renders average-pooled to the latent grid have 0.25: the latent carries more
 * high-frequency content than the image it codes, which the UNet must then reproduce exactly (Skorokhodov et al.
 * 2025, "Improving the Diffusability of Autoencoders", found the same of SD's and other VAEs).
 *
 * A plain DFT: the grids are 16×16 at most here, so O(H²W²) per channel costs less than a VAE pass.
 */
import { HostTensor } from '../io/host-tensor';

/**
 * Power per integer radius 0…⌊min(H, W)/2⌋ (radius in cycles per grid side; the corners beyond the last radius join it),
 * summed over items and channels. Unnormalised DFT: the bins sum to H·W·Σ(x − mean)² (Parseval).
 */
export function radialPowerSpectrum(x: HostTensor): Float64Array {
  if (x.shape.length !== 4) throw new Error(`latent-spectrum: expected [B, H, W, C], got [${x.shape}]`);
  const [b, h, w, c] = x.shape;
  const d = x.data;
  const bins = new Float64Array(Math.floor(Math.min(h, w) / 2) + 1);
  const cosY = new Float64Array(h * h);
  const sinY = new Float64Array(h * h);
  const cosX = new Float64Array(w * w);
  const sinX = new Float64Array(w * w);
  for (let k = 0; k < h; k++) for (let y = 0; y < h; y++) { cosY[k * h + y] = Math.cos((-2 * Math.PI * k * y) / h); sinY[k * h + y] = Math.sin((-2 * Math.PI * k * y) / h); }
  for (let k = 0; k < w; k++) for (let xx = 0; xx < w; xx++) { cosX[k * w + xx] = Math.cos((-2 * Math.PI * k * xx) / w); sinX[k * w + xx] = Math.sin((-2 * Math.PI * k * xx) / w); }
  const plane = new Float64Array(h * w);
  // row transform first (separable DFT): re/im of every row at every horizontal frequency
  const rowRe = new Float64Array(h * w);
  const rowIm = new Float64Array(h * w);
  for (let i = 0; i < b; i++) {
    for (let ch = 0; ch < c; ch++) {
      let mean = 0;
      for (let p = 0; p < h * w; p++) mean += (plane[p] = Number(d[(i * h * w + p) * c + ch]));
      mean /= h * w;
      for (let p = 0; p < h * w; p++) plane[p] -= mean;
      for (let y = 0; y < h; y++) {
        for (let kx = 0; kx < w; kx++) {
          let re = 0;
          let im = 0;
          for (let xx = 0; xx < w; xx++) {
            re += plane[y * w + xx] * cosX[kx * w + xx];
            im += plane[y * w + xx] * sinX[kx * w + xx];
          }
          rowRe[y * w + kx] = re;
          rowIm[y * w + kx] = im;
        }
      }
      for (let ky = 0; ky < h; ky++) {
        for (let kx = 0; kx < w; kx++) {
          let re = 0;
          let im = 0;
          for (let y = 0; y < h; y++) {
            const cr = cosY[ky * h + y];
            const ci = sinY[ky * h + y];
            re += rowRe[y * w + kx] * cr - rowIm[y * w + kx] * ci;
            im += rowRe[y * w + kx] * ci + rowIm[y * w + kx] * cr;
          }
          const fy = Math.min(ky, h - ky) / h;
          const fx = Math.min(kx, w - kx) / w;
          // the corners (both frequencies near Nyquist) lie beyond the last radius: they count as its band
          const r = Math.min(bins.length - 1, Math.round(Math.sqrt(fy * fy + fx * fx) * Math.min(h, w)));
          bins[r] += re * re + im * im;
        }
      }
    }
  }
  return bins;
}

/** The share of the spectrum's power at radius ≥ half the largest radius (0 for a constant input). */
export function highFrequencyShare(x: HostTensor): number {
  const bins = radialPowerSpectrum(x);
  const total = bins.reduce((a, v) => a + v, 0);
  if (total === 0) return 0;
  const from = Math.ceil((bins.length - 1) / 2);
  let high = 0;
  for (let r = from; r < bins.length; r++) high += bins[r];
  return high / total;
}
