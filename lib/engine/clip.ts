/** CLIP embeddings as plain data: images → [N, D] projected image embeddings; texts → [N, D] projected text embeddings. */
import * as tf from '@tensorflow/tfjs-core';
import { HostTensor, fromTfSync, hostTensor } from '../io/host-tensor';
import { imageToTensor } from '../io/image';
import { DetexSession } from './session';
import { Image } from './types';

/** Projected CLIP image embeddings [N, D] (not normalised), one image at a time so sizes may differ. */
export async function clipImage(s: DetexSession, images: readonly Image[]): Promise<HostTensor> {
  if (!images.length) throw new Error('clipImage: no images');
  const enc = await s.imageEncoder();
  const rows: Float32Array[] = images.map((img, i) => {
    if (img.shape.length !== 3 || img.shape[2] !== 3) throw new Error(`clipImage: image ${i} must be [H, W, 3], got [${img.shape}]`);
    const x = imageToTensor(img);
    const e = enc.embed(x);
    x.dispose();
    const d = e.dataSync() as Float32Array;
    e.dispose();
    return Float32Array.from(d);
  });
  return stackRows(rows);
}

/**
 * Projected CLIP text embeddings [N, D]. Needs a text tower with `text_projection` (see session.ts: SD's text
 * encoder has none; give a full CLIP folder).
 */
export async function clipText(s: DetexSession, texts: readonly string[]): Promise<HostTensor> {
  if (!texts.length) throw new Error('clipText: no texts');
  const [text, tokenizer] = await Promise.all([s.textTower(), s.tokenizer()]);
  const ids = tokenizer.call([...texts]).inputIds;
  const out = text.forward(ids);
  try {
    return fromTfSync(out.textEmbeds!);
  } finally {
    tf.dispose([out.lastHiddenState, out.pooledOutput, out.textEmbeds!, ...(out.hiddenStates ?? [])]);
  }
}

export function stackRows(rows: readonly Float32Array[]): HostTensor {
  const D = rows[0].length;
  const data = new Float32Array(rows.length * D);
  rows.forEach((r, i) => data.set(r, i * D));
  return hostTensor('float32', [rows.length, D], data);
}

export function rowsOf(h: HostTensor): Float32Array[] {
  const [n, d] = h.shape;
  const f = h.data instanceof Float32Array ? h.data : Float32Array.from(h.data);
  return Array.from({ length: n }, (_, i) => f.subarray(i * d, (i + 1) * d));
}
