/**
 * Net2WiderNet on stored (PyTorch-layout) weights: how one tensor axis of a trained model maps onto the same axis
 * of a wider one. An axis is a list of channel segments, each widened by an integer factor k: old channel c of a
 * segment becomes new channels k·c … k·c+k−1. Where the axis is a layer's *output*, every copy keeps the old
 * value; where it is a layer's *input*, the copies share the old weight (1/k each, plus zero-sum noise that breaks
 * the copies' symmetry), so the wider layer computes exactly what the old one did on duplicated activations.
 */
import { HostTensor, hostTensor, sizeOf } from '../io/host-tensor';
import { Rng } from '../random';

/** `size` old channels, each repeated `k` times in the wider model. */
export interface Segment {
  size: number;
  k: number;
}

export type Axis = readonly Segment[];

export const fixed = (size: number): Axis => [{ size, k: 1 }];
export const widened = (size: number, k: number): Axis => [{ size, k }];
export const concat = (...axes: Axis[]): Axis => axes.flat();

export function axisSize(axis: Axis, which: 'old' | 'new'): number {
  return axis.reduce((n, s) => n + (which === 'old' ? s.size : s.size * s.k), 0);
}

/** For each new index along an axis: the old index it reads (−1: none, the value is 0) and its replica group. */
export interface IndexMap {
  src: Int32Array;
  /** replicas of the same old channel (1 where nothing is shared) */
  k: Int32Array;
  /** position of this index among its replicas */
  r: Int32Array;
}

export function segmentMap(axis: Axis): IndexMap {
  const n = axisSize(axis, 'new');
  const m: IndexMap = { src: new Int32Array(n), k: new Int32Array(n), r: new Int32Array(n) };
  let oldOff = 0;
  let newOff = 0;
  for (const s of axis) {
    if (!Number.isInteger(s.k) || s.k < 1) throw new Error(`widen: factor ${s.k} is not a positive integer`);
    for (let j = 0; j < s.size * s.k; j++) {
      m.src[newOff + j] = oldOff + Math.floor(j / s.k);
      m.k[newOff + j] = s.k;
      m.r[newOff + j] = j % s.k;
    }
    oldOff += s.size;
    newOff += s.size * s.k;
  }
  return m;
}

/**
 * diffusers' sinusoidal timestep features (`Timesteps`, downscale_freq_shift 0) of width `dim` hold frequency
 * exp(−ln(10000)·i/(dim/2)) at position i of each half, so the features of width k·dim contain the old ones at
 * every k-th position of each half: the wider embedding reads those and gives the new frequencies weight 0.
 */
export function sinusoidMap(oldDim: number, k: number): IndexMap {
  if (oldDim % 2) throw new Error(`widen: the timestep features' width ${oldDim} is odd`);
  const half = oldDim / 2;
  const n = oldDim * k;
  const m: IndexMap = { src: new Int32Array(n).fill(-1), k: new Int32Array(n).fill(1), r: new Int32Array(n) };
  for (let h = 0; h < 2; h++) for (let i = 0; i < half; i++) m.src[h * half * k + i * k] = h * half + i;
  return m;
}

export interface RemapOptions {
  /** the axis whose replicas share the old weight (a layer's input axis), or −1 */
  splitAxis: number;
  /** std of the zero-sum noise on the shares, relative to 1/k */
  noise: number;
  rng: Rng;
  /** multiplies every value (attention queries: keeps q·k / √d when the head width grows) */
  scale?: number;
}

/** The wider tensor: each axis read through its map; see the module comment for copies and shares. */
export function remap(old: HostTensor, maps: IndexMap[], o: RemapOptions): HostTensor {
  if (old.dtype !== 'float32') throw new Error(`widen: expected float32 weights, got ${old.dtype}`);
  if (maps.length !== old.shape.length) throw new Error(`widen: ${maps.length} axis maps for a tensor of shape [${old.shape}]`);
  maps.forEach((m, a) => {
    const top = m.src.reduce((x, v) => Math.max(x, v), -1);
    if (top >= old.shape[a]) throw new Error(`widen: axis ${a} of shape [${old.shape}] has ${old.shape[a]} channels, the map reads channel ${top}`);
  });
  const shape = maps.map((m) => m.src.length);
  const src = old.data as Float32Array;
  const out = new Float32Array(sizeOf(shape));
  const oldStrides = strides(old.shape);
  const newStrides = strides(shape);
  const idx = new Array<number>(shape.length).fill(0);
  const scale = o.scale ?? 1;
  for (let e = 0; e < out.length; e++) {
    let from = 0;
    let mult = scale;
    for (let a = 0; a < shape.length; a++) {
      const s = maps[a].src[idx[a]];
      if (s < 0) {
        mult = 0;
        break;
      }
      from += s * oldStrides[a];
      if (a === o.splitAxis) mult /= maps[a].k[idx[a]];
    }
    out[e] = mult === 0 ? 0 : src[from] * mult;
    for (let a = shape.length - 1; a >= 0; a--) {
      if (++idx[a] < shape[a]) break;
      idx[a] = 0;
    }
  }
  if (o.splitAxis >= 0 && o.noise > 0) addShareNoise(out, shape, newStrides, maps[o.splitAxis], o.splitAxis, o.noise, o.rng);
  return hostTensor('float32', shape, out);
}

function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let a = shape.length - 2; a >= 0; a--) s[a] = s[a + 1] * shape[a + 1];
  return s;
}

/** Each replica group's shares become (1 + noise·(z_r − mean z))/k of the old weight: their sum is unchanged. */
function addShareNoise(out: Float32Array, shape: number[], st: number[], m: IndexMap, axis: number, noise: number, rng: Rng): void {
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = st[axis];
  for (let o = 0; o < outer; o++) {
    for (let start = 0; start < m.src.length; start += m.k[start]) {
      const k = m.k[start];
      if (k < 2 || m.src[start] < 0) continue;
      for (let i = 0; i < inner; i++) {
        const z = rng.normal([k]);
        const mean = z.reduce((a, b) => a + b, 0) / k;
        const base = o * shape[axis] * inner + i;
        // every replica holds value/k, so value = k·out of the first one
        const value = out[base + start * inner] * k;
        for (let r = 0; r < k; r++) out[base + (start + r) * inner] += (value * noise * (z[r] - mean)) / k;
      }
    }
  }
}
