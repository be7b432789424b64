/**
 * Procedural background textures. Each kind is a per-pixel shader over normalised coordinates
 * (x, y) ∈ [0, 1)² (y down), built once per image from a seeded Rng that jitters its colours, scale and
 * noise offsets: two renders of "grass" differ, but always read as grass.
 *
 * The kinds are meant to be told apart by colour and texture statistics alone (the oracle does exactly
 * that), so each has a signature: grass = green with vertical blade streaks, sky = blue gradient with
 * white clouds, sand = warm beige fine grain with ripples, brick = red blocks on a light mortar grid,
 * water = deep blue-teal horizontal waves with glints, snow = bright blue-white soft drifts with
 * sparkles, wood = brown horizontal planks with grain, studio = flat neutral colour with a vignette,
 * night = near-black navy with star points.
 */
import { Rng } from '../random';
import { clamp01, fbm, hash2, smoothstep, valueNoise } from './noise';

export const BACKGROUNDS = ['grass', 'sky', 'sand', 'brick', 'water', 'snow', 'wood', 'studio', 'night'] as const;
export type BackgroundKind = (typeof BACKGROUNDS)[number];

/** Caption words: "... in brick wall background". */
export const BACKGROUND_WORDS: Readonly<Record<BackgroundKind, string>> = {
  grass: 'grass',
  sky: 'sky',
  sand: 'sand',
  brick: 'brick wall',
  water: 'water',
  snow: 'snow',
  wood: 'wooden floor',
  studio: 'studio',
  night: 'night sky',
};

export function isBackground(name: string): name is BackgroundKind {
  return (BACKGROUNDS as readonly string[]).includes(name);
}

/** Writes the colour (0..255 floats) at (x, y) into out[0..2]. */
export type BackgroundShader = (x: number, y: number, out: Float64Array) => void;

type RGB = readonly [number, number, number];

function mix3(a: RGB, b: RGB, t: number, out: Float64Array): void {
  out[0] = a[0] + (b[0] - a[0]) * t;
  out[1] = a[1] + (b[1] - a[1]) * t;
  out[2] = a[2] + (b[2] - a[2]) * t;
}

/** Multiplies a colour by 1 ± j per channel-group so repeated kinds are not identical. */
function jitter(c: RGB, rng: Rng, j: number): RGB {
  const k = 1 + (rng.nextDouble() * 2 - 1) * j;
  return [c[0] * k, c[1] * k, c[2] * k];
}

function seedOf(rng: Rng): number {
  return rng.int(0x7fffffff);
}

const SHADERS: Record<BackgroundKind, (rng: Rng) => BackgroundShader> = {
  grass(rng) {
    const s = seedOf(rng);
    const dark = jitter([28, 92, 26], rng, 0.12);
    const light = jitter([128, 190, 62], rng, 0.08);
    const ox = rng.nextDouble() * 100;
    return (x, y, out) => {
      const patches = fbm(x * 4 + ox, y * 4, s, 3);
      // blades: noise stretched 8× vertically → thin upright streaks
      const blades = valueNoise(x * 72 + ox, y * 9, s + 7);
      const fine = valueNoise(x * 150, y * 20, s + 9);
      const t = clamp01(0.5 * patches + 0.35 * blades + 0.2 * fine - 0.05 + 0.12 * y);
      mix3(dark, light, t, out);
    };
  },
  sky(rng) {
    const s = seedOf(rng);
    const top = jitter([38, 100, 205], rng, 0.1);
    const horizon = jitter([150, 200, 245], rng, 0.05);
    const cover = 0.42 + rng.nextDouble() * 0.12; // lower threshold = more cloud
    const ox = rng.nextDouble() * 100;
    return (x, y, out) => {
      mix3(top, horizon, y, out);
      const c = fbm(x * 3 + ox, y * 5, s, 4);
      const cloud = smoothstep(cover, cover + 0.16, c);
      // clouds: white tops, a little grey underneath
      const g = 250 - 40 * smoothstep(0.55, 0.8, fbm(x * 3 + ox, y * 5 + 0.15, s, 3));
      out[0] += (g - out[0]) * cloud;
      out[1] += (g - out[1]) * cloud;
      out[2] += (g + 3 - out[2]) * cloud;
    };
  },
  sand(rng) {
    const s = seedOf(rng);
    const base = jitter([222, 192, 138], rng, 0.06);
    const freq = 22 + rng.nextDouble() * 10;
    return (x, y, out) => {
      // dune ripples: bands along x, bent by low-frequency noise
      const warp = fbm(x * 2.5, y * 2.5, s, 3) * 5;
      const ripple = Math.sin((y * freq + warp) * Math.PI * 2);
      const grain = valueNoise(x * 180, y * 180, s + 3);
      const k = 0.9 + 0.06 * ripple + 0.1 * (grain - 0.5) + 0.08 * (fbm(x * 3, y * 3, s + 5, 2) - 0.5);
      out[0] = base[0] * k;
      out[1] = base[1] * k;
      out[2] = base[2] * k * 0.98;
    };
  },
  brick(rng) {
    const s = seedOf(rng);
    const rows = 6 + rng.int(3);
    const bh = 1 / rows;
    const bw = bh * 2.1;
    const mortarW = 0.1;
    const brick = jitter([168, 66, 46], rng, 0.1);
    const mortar = jitter([196, 190, 178], rng, 0.05);
    return (x, y, out) => {
      const row = Math.floor(y / bh);
      const xo = x + (row & 1 ? bw * 0.5 : 0);
      const col = Math.floor(xo / bw);
      const fx = xo / bw - col;
      const fy = y / bh - row;
      const speck = valueNoise(x * 120, y * 120, s + 1);
      // mortar lines at the bottom and left of every brick
      if (fy > 1 - mortarW || fx < mortarW * 0.5) {
        const k = 0.9 + 0.15 * speck;
        out[0] = mortar[0] * k;
        out[1] = mortar[1] * k;
        out[2] = mortar[2] * k;
        return;
      }
      const k = 0.78 + 0.3 * hash2(row, col, s) + 0.12 * (speck - 0.5);
      out[0] = brick[0] * k;
      out[1] = brick[1] * k;
      out[2] = brick[2] * k;
    };
  },
  water(rng) {
    const s = seedOf(rng);
    const deep = jitter([18, 72, 128], rng, 0.12);
    const shallow = jitter([40, 132, 168], rng, 0.08);
    const freq = 16 + rng.nextDouble() * 8;
    return (x, y, out) => {
      const warp = fbm(x * 2, y * 5, s, 3) * 6;
      const w = Math.sin((y * freq + warp + x * 2) * Math.PI * 2);
      mix3(deep, shallow, clamp01(0.4 + 0.35 * w + 0.3 * (y - 0.5)), out);
      // glints on the wave crests
      const glint = smoothstep(0.82, 0.98, w) * valueNoise(x * 30, y * 60, s + 4);
      out[0] += (215 - out[0]) * glint;
      out[1] += (238 - out[1]) * glint;
      out[2] += (248 - out[2]) * glint;
    };
  },
  snow(rng) {
    const s = seedOf(rng);
    const bright = jitter([240, 244, 250], rng, 0.02);
    const shade = jitter([186, 202, 226], rng, 0.04);
    return (x, y, out) => {
      // soft drifts: low-frequency shadows tinted blue
      const drift = smoothstep(0.45, 0.75, fbm(x * 2.5, y * 3.5, s, 4));
      mix3(bright, shade, drift * 0.85, out);
      const sparkle = valueNoise(x * 110, y * 110, s + 2);
      if (sparkle > 0.8) {
        const t = (sparkle - 0.8) * 5;
        out[0] += (255 - out[0]) * t;
        out[1] += (255 - out[1]) * t;
        out[2] += (255 - out[2]) * t;
      }
    };
  },
  wood(rng) {
    const s = seedOf(rng);
    const planks = 4 + rng.int(3);
    const ph = 1 / planks;
    const light = jitter([196, 136, 80], rng, 0.1);
    const dark = jitter([128, 78, 40], rng, 0.1);
    return (x, y, out) => {
      const row = Math.floor(y / ph);
      const fy = y / ph - row;
      // grain: stretched noise along the plank, turned into growth-ring bands
      const g = fbm(x * 1.5 + row * 3.7, y * 30, s + row, 3) * 7 + hash2(row, 0, s) * 3;
      const ring = 0.5 + 0.5 * Math.sin(g * Math.PI * 2);
      mix3(light, dark, 0.25 + 0.5 * ring * ring + 0.2 * (hash2(row, 1, s) - 0.5), out);
      // dark seam between planks, and short butt joints
      const joint = Math.abs(((x + hash2(row, 2, s)) % 0.7) - 0.35) > 0.345;
      if (fy < 0.06 || joint) {
        out[0] *= 0.45;
        out[1] *= 0.45;
        out[2] *= 0.45;
      }
    };
  },
  studio(rng) {
    const tints: RGB[] = [
      [200, 200, 204],
      [214, 204, 188],
      [188, 198, 214],
      [204, 190, 198],
    ];
    const base = jitter(tints[rng.int(tints.length)], rng, 0.06);
    const cx = 0.5 + (rng.nextDouble() - 0.5) * 0.2;
    const cy = 0.42 + (rng.nextDouble() - 0.5) * 0.2;
    return (x, y, out) => {
      // smooth vignette: a paper backdrop lit in the middle
      const dx = x - cx;
      const dy = y - cy;
      const k = 1.02 - 0.9 * (dx * dx + dy * dy);
      out[0] = base[0] * k;
      out[1] = base[1] * k;
      out[2] = base[2] * k;
    };
  },
  night(rng) {
    const s = seedOf(rng);
    const top = jitter([4, 6, 22], rng, 0.2);
    const low = jitter([22, 28, 70], rng, 0.15);
    const cells = 22;
    return (x, y, out) => {
      mix3(top, low, y * y, out);
      // stars: at most one per lattice cell, a tiny round dot at a hashed position
      const cx = Math.floor(x * cells);
      const cy = Math.floor(y * cells);
      const h = hash2(cx, cy, s);
      if (h < 0.45) {
        const sx = (cx + 0.15 + 0.7 * hash2(cx, cy, s + 1)) / cells;
        const sy = (cy + 0.15 + 0.7 * hash2(cx, cy, s + 2)) / cells;
        const r = 0.006 + 0.006 * hash2(cx, cy, s + 3);
        const d = Math.hypot(x - sx, y - sy);
        const t = 1 - smoothstep(r * 0.3, r, d);
        out[0] += (250 - out[0]) * t;
        out[1] += (246 - out[1]) * t;
        out[2] += (220 - out[2]) * t;
      }
    };
  },
};

export function backgroundShader(kind: BackgroundKind, rng: Rng): BackgroundShader {
  const make = SHADERS[kind];
  if (!make) throw new Error(`world: unknown background "${kind}" (known: ${BACKGROUNDS.join(', ')})`);
  return make(rng);
}

/** Renders a background into a fresh uint8 [size, size, 3] buffer (one sample per pixel centre). */
export function renderBackground(kind: BackgroundKind, size: number, rng: Rng): Uint8Array {
  const shade = backgroundShader(kind, rng);
  const out = new Uint8Array(size * size * 3);
  const c = new Float64Array(3);
  const inv = 1 / size;
  let o = 0;
  for (let py = 0; py < size; py++) {
    const y = (py + 0.5) * inv;
    for (let px = 0; px < size; px++) {
      shade((px + 0.5) * inv, y, c);
      out[o++] = toByte(c[0]);
      out[o++] = toByte(c[1]);
      out[o++] = toByte(c[2]);
    }
  }
  return out;
}

export function toByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}
