/** Token-id and mask inputs accepted by the CLIP text model, normalised to host rows. */
import * as tf from '@tensorflow/tfjs-core';
import { HostTensor } from '../../io/host-tensor';

export type IdRows = number[][] | HostTensor | tf.Tensor2D;

/** [B, N] integer rows from any accepted form; checks a rectangular 2-D shape. */
export function toIdRows(x: IdRows, what: string): number[][] {
  let rows: number[][];
  if (Array.isArray(x)) {
    rows = x.map((r) => [...r]);
  } else {
    const shape = x.shape;
    if (shape.length !== 2) throw new Error(`${what}: expected shape [batch, seq], found [${shape}]`);
    const data = x instanceof tf.Tensor ? x.dataSync() : x.data;
    const [b, n] = shape;
    rows = Array.from({ length: b }, (_, i) => Array.from(data.subarray(i * n, (i + 1) * n), Number));
  }
  if (rows.length === 0) throw new Error(`${what}: empty batch`);
  const n = rows[0].length;
  if (rows.some((r) => r.length !== n)) throw new Error(`${what}: rows have different lengths`);
  for (const r of rows) {
    for (const v of r) if (!Number.isInteger(v)) throw new Error(`${what}: ${v} is not an integer`);
  }
  return rows;
}

/** Index of the largest value in a row, first occurrence (torch.argmax on CPU). */
export function argmaxFirst(row: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}
