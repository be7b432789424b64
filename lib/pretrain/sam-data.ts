/**
 * SAM training prompts from world renders, as in the SAM paper: one positive point sampled uniformly on the
 * subject (ambiguous: trained multimask, min over masks), a box (the exact box with noise of up to 5% of
 * its side per coordinate), or a positive plus a negative point (the negative off the subject, usually
 * inside the box where it disambiguates most). All coordinates are pixels of the 64 px model input.
 */
import { Rng } from '../random';
import { RenderedScene } from '../world';

export type PromptKind = 'point' | 'box' | 'points2';

export interface ScenePrompt {
  kind: PromptKind;
  /** (x, y) pixel coordinates; labels 1 positive, 0 negative */
  points: Array<[number, number]>;
  labels: number[];
  /** x0, y0, x1, y1 */
  box?: [number, number, number, number];
}

/** A pixel (x, y) where the mask equals `want`, uniformly; inside `box` first when asked (falls back to anywhere). */
export function samplePixel(mask: Uint8Array, size: number, want: 0 | 1, rng: Rng, box?: readonly number[]): [number, number] {
  const pick = (inBox: boolean): [number, number] | undefined => {
    const cand: number[] = [];
    for (let i = 0; i < mask.length; i++) {
      if (mask[i] !== want) continue;
      const x = i % size;
      const y = (i - x) / size;
      if (inBox && box && !(x >= box[0] && x < box[2] && y >= box[1] && y < box[3])) continue;
      cand.push(i);
    }
    if (cand.length === 0) return undefined;
    const i = cand[rng.int(cand.length)];
    return [i % size, Math.floor(i / size)];
  };
  const p = (box && pick(true)) || pick(false);
  if (!p) throw new Error(`sam-data: no pixel with mask value ${want}`);
  return p;
}

export function promptFor(scene: RenderedScene, kind: PromptKind, rng: Rng): ScenePrompt {
  const size = scene.mask.shape[0];
  const mask = scene.mask.data as Uint8Array;
  const pos = samplePixel(mask, size, 1, rng);
  if (kind === 'point') return { kind, points: [pos], labels: [1] };
  const [x0, y0, x1, y1] = scene.box;
  if (kind === 'box') {
    const jitter = (v: number, side: number) => Math.min(size, Math.max(0, v + (rng.nextDouble() * 2 - 1) * 0.05 * side));
    const w = x1 - x0;
    const h = y1 - y0;
    return { kind, points: [], labels: [], box: [jitter(x0, w), jitter(y0, h), jitter(x1, w), jitter(y1, h)] };
  }
  const neg = samplePixel(mask, size, 0, rng, rng.nextDouble() < 0.7 ? scene.box : undefined);
  return { kind, points: [pos, neg], labels: [1, 0] };
}
