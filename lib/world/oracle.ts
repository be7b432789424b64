/**
 * The "oracle": attribute read-outs from pixels alone, for the quality benchmark (did the generated
 * image put the subject in the asked-for background? is the subject still its own colour?).
 *
 * - Background kind: colour/texture statistics of the background pixels (outside the mask; without a
 *   mask, a frame along the border, where subjects rarely reach) scored against every kind's
 *   statistics, which are measured once per image size from this world's own renderer (Gaussian
 *   naive Bayes over 10 features). The statistics are the renderer's, so the oracle needs no training
 *   data and stays in step when a texture changes.
 * - Body colour: every (eroded) mask pixel votes for its nearest palette colour, allowing for shading
 *   (palette colours at several brightness factors, lightness down-weighted); the winner is the body
 *   colour, because patterns and details never cover half the body (patterns.ts). The median colour
 *   of the masked pixels is reported too.
 */
import { Rng } from '../random';
import { HostTensor } from '../io/host-tensor';
import { BACKGROUNDS, BackgroundKind, renderBackground } from './backgrounds';
import { COLOURS, ColourName, PALETTE, rgbToLab } from './palette';

const N_FEATURES = 10;

// sRGB byte → Lab, via a linear-light lookup table (the oracle reads thousands of pixels per image)
const LIN = Float64Array.from({ length: 256 }, (_, c) => {
  const s = c / 255;
  return s <= 0.04045 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4);
});

function labOf(r: number, g: number, b: number, out: Float64Array, o: number): void {
  const R = LIN[r];
  const G = LIN[g];
  const B = LIN[b];
  const f = (t: number): number => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116);
  const fx = f((0.4124 * R + 0.3576 * G + 0.1805 * B) / 0.95047);
  const fy = f(0.2126 * R + 0.7152 * G + 0.0722 * B);
  const fz = f((0.0193 * R + 0.1192 * G + 0.9505 * B) / 1.08883);
  out[o] = 116 * fy - 16;
  out[o + 1] = 500 * (fx - fy);
  out[o + 2] = 200 * (fy - fz);
}

function checkImage(image: HostTensor, mask?: HostTensor): { h: number; w: number } {
  const [h, w, c] = image.shape;
  if (image.dtype !== 'uint8' || image.shape.length !== 3 || c !== 3) {
    throw new Error(`oracle: expected a uint8 [H, W, 3] image, got ${image.dtype} [${image.shape}]`);
  }
  if (mask && (mask.shape.length < 2 || mask.shape[0] !== h || mask.shape[1] !== w || mask.data.length !== h * w)) {
    throw new Error(`oracle: mask [${mask.shape}] does not match image [${image.shape}]`);
  }
  return { h, w };
}

/**
 * Features of the region `keep` (1 = background pixel): mean L, a, b; std of L, a, b; mean |∂L/∂x|,
 * mean |∂L/∂y| (blade streaks vs planks and waves); fraction of bright pixels; top-minus-bottom L.
 */
function features(rgb: Uint8Array, keep: Uint8Array, h: number, w: number): Float64Array {
  const lab = new Float64Array(h * w * 3);
  for (let i = 0; i < h * w; i++) labOf(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2], lab, 3 * i);
  let n = 0;
  const sum = [0, 0, 0];
  const sq = [0, 0, 0];
  let bright = 0;
  let top = 0;
  let nTop = 0;
  let bottom = 0;
  let nBottom = 0;
  for (let i = 0; i < h * w; i++) {
    if (!keep[i]) continue;
    n++;
    for (let k = 0; k < 3; k++) {
      const v = lab[3 * i + k];
      sum[k] += v;
      sq[k] += v * v;
    }
    const L = lab[3 * i];
    if (L > 88) bright++;
    if (Math.floor(i / w) < h / 2) {
      top += L;
      nTop++;
    } else {
      bottom += L;
      nBottom++;
    }
  }
  let gx = 0;
  let ngx = 0;
  let gy = 0;
  let ngy = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (!keep[i]) continue;
      if (x + 1 < w && keep[i + 1]) {
        gx += Math.abs(lab[3 * (i + 1)] - lab[3 * i]);
        ngx++;
      }
      if (y + 1 < h && keep[i + w]) {
        gy += Math.abs(lab[3 * (i + w)] - lab[3 * i]);
        ngy++;
      }
    }
  }
  const f = new Float64Array(N_FEATURES);
  const m = Math.max(n, 1);
  for (let k = 0; k < 3; k++) {
    f[k] = sum[k] / m;
    f[3 + k] = Math.sqrt(Math.max(0, sq[k] / m - f[k] * f[k]));
  }
  f[6] = gx / Math.max(ngx, 1);
  f[7] = gy / Math.max(ngy, 1);
  f[8] = bright / m;
  f[9] = nTop && nBottom ? top / nTop - bottom / nBottom : 0;
  return f;
}

/** The background region: outside the mask, or (no mask) a frame of width max(3, size/8). */
function backgroundRegion(h: number, w: number, mask?: HostTensor): Uint8Array {
  const keep = new Uint8Array(h * w);
  if (mask) {
    for (let i = 0; i < h * w; i++) keep[i] = mask.data[i] ? 0 : 1;
    return keep;
  }
  const fw = Math.max(3, Math.floor(Math.min(h, w) / 8));
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (x < fw || y < fw || x >= w - fw || y >= h - fw) keep[y * w + x] = 1;
    }
  }
  return keep;
}

interface KindStats {
  mean: Float64Array;
  std: Float64Array;
}

const statsCache = new Map<string, KindStats[]>();
const REFERENCE_RENDERS = 24;

/** Per-kind feature means/stds from the renderer's own backgrounds (fixed seed), cached per size. */
function referenceStats(h: number, w: number, framed: boolean): KindStats[] {
  const key = `${h}x${w}:${framed}`;
  const hit = statsCache.get(key);
  if (hit) return hit;
  if (h !== w) throw new Error(`oracle: background statistics need a square image, got ${h}x${w}`);
  const region = framed ? backgroundRegion(h, w) : new Uint8Array(h * w).fill(1);
  const rng = new Rng(0x0c1e);
  const all: Float64Array[][] = BACKGROUNDS.map((kind) =>
    Array.from({ length: REFERENCE_RENDERS }, (_, i) => features(renderBackground(kind, h, rng.fork(`${kind}:${i}`)), region, h, w)),
  );
  // floor every std at 15 % of the feature's spread over all kinds: no feature may dominate on a fluke
  const floor = new Float64Array(N_FEATURES);
  for (let k = 0; k < N_FEATURES; k++) {
    const v = all.flat().map((f) => f[k]);
    const mu = v.reduce((a, b) => a + b, 0) / v.length;
    floor[k] = 0.15 * Math.sqrt(v.reduce((a, b) => a + (b - mu) ** 2, 0) / v.length) + 1e-6;
  }
  const stats = all.map((fs) => {
    const mean = new Float64Array(N_FEATURES);
    const std = new Float64Array(N_FEATURES);
    for (let k = 0; k < N_FEATURES; k++) {
      const v = fs.map((f) => f[k]);
      mean[k] = v.reduce((a, b) => a + b, 0) / v.length;
      std[k] = Math.max(floor[k], Math.sqrt(v.reduce((a, b) => a + (b - mean[k]) ** 2, 0) / v.length));
    }
    return { mean, std };
  });
  statsCache.set(key, stats);
  return stats;
}

export interface BackgroundEstimate {
  kind: BackgroundKind;
  /** softmax over kinds of the naive-Bayes log-likelihoods (sums to 1) */
  probabilities: Record<BackgroundKind, number>;
}

/** The most likely background kind of an RGB image, given (optionally) the subject's mask. */
export function estimateBackground(image: HostTensor, mask?: HostTensor): BackgroundEstimate {
  const { h, w } = checkImage(image, mask);
  const keep = backgroundRegion(h, w, mask);
  const f = features(image.data as Uint8Array, keep, h, w);
  // a masked image is compared with whole-image statistics, a framed one with framed statistics
  const stats = referenceStats(h, w, !mask);
  const logp = stats.map(({ mean, std }) => {
    let s = 0;
    for (let k = 0; k < N_FEATURES; k++) {
      const z = (f[k] - mean[k]) / std[k];
      s -= 0.5 * z * z + Math.log(std[k]);
    }
    return s;
  });
  const top = Math.max(...logp);
  const e = logp.map((l) => Math.exp(l - top));
  const z = e.reduce((a, b) => a + b, 0);
  const probabilities = {} as Record<BackgroundKind, number>;
  BACKGROUNDS.forEach((k, i) => (probabilities[k] = e[i] / z));
  return { kind: BACKGROUNDS[logp.indexOf(top)], probabilities };
}

// palette colours under the renderer's range of shading, in Lab
const SHADES = [0.7, 0.85, 1.0, 1.12];
const SHADED_LAB: { name: ColourName; lab: Float64Array }[] = COLOURS.flatMap((name) =>
  SHADES.map((k) => {
    const [r, g, b] = PALETTE[name].map((c) => Math.min(255, c * k));
    return { name, lab: Float64Array.from(rgbToLab(r, g, b)) };
  }),
);

/** Nearest palette name of one colour, shading allowed for, lightness weighted by half. */
export function nearestColour(r: number, g: number, b: number): ColourName {
  const lab = new Float64Array(3);
  labOf(Math.round(r), Math.round(g), Math.round(b), lab, 0);
  let best = Infinity;
  let name: ColourName = COLOURS[0];
  for (const ref of SHADED_LAB) {
    const d = 0.25 * (lab[0] - ref.lab[0]) ** 2 + (lab[1] - ref.lab[1]) ** 2 + (lab[2] - ref.lab[2]) ** 2;
    if (d < best) {
      best = d;
      name = ref.name;
    }
  }
  return name;
}

export interface ColourEstimate {
  /** the colour with most votes */
  colour: ColourName;
  /** vote fraction per colour (sums to 1 over the voting pixels) */
  votes: Record<ColourName, number>;
  /** per-channel median RGB of the voting pixels, and its nearest palette colour */
  median: [number, number, number];
  medianColour: ColourName;
  /** pixels that voted (the mask eroded by one pixel when enough remain) */
  pixels: number;
}

/** Body colour of the subject inside `mask` (uint8/bool [H, W], nonzero = subject). */
export function estimateColour(image: HostTensor, mask: HostTensor): ColourEstimate {
  const { h, w } = checkImage(image, mask);
  const m = mask.data;
  // erode by one pixel: edge pixels are blends with the background
  let inner: number[] = [];
  const all: number[] = [];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (!m[i]) continue;
      all.push(i);
      if (x > 0 && y > 0 && x < w - 1 && y < h - 1 && m[i - 1] && m[i + 1] && m[i - w] && m[i + w]) inner.push(i);
    }
  }
  if (all.length === 0) throw new Error('oracle: the mask is empty, no subject pixels to read a colour from');
  if (inner.length < 12) inner = all;
  const rgb = image.data as Uint8Array;
  const counts = new Map<ColourName, number>(COLOURS.map((c) => [c, 0]));
  const chans: number[][] = [[], [], []];
  for (const i of inner) {
    const r = rgb[3 * i];
    const g = rgb[3 * i + 1];
    const b = rgb[3 * i + 2];
    const name = nearestColour(r, g, b);
    counts.set(name, counts.get(name)! + 1);
    chans[0].push(r);
    chans[1].push(g);
    chans[2].push(b);
  }
  const votes = {} as Record<ColourName, number>;
  let colour: ColourName = COLOURS[0];
  for (const c of COLOURS) {
    votes[c] = counts.get(c)! / inner.length;
    if (votes[c] > votes[colour]) colour = c;
  }
  const median = chans.map((v) => v.sort((a, b) => a - b)[v.length >> 1]) as [number, number, number];
  return { colour, votes, median, medianColour: nearestColour(...median), pixels: inner.length };
}

/** Does the subject inside `mask` have body colour `name`? */
export function matchesColour(image: HostTensor, mask: HostTensor, name: ColourName): boolean {
  return estimateColour(image, mask).colour === name;
}
