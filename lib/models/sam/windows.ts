/**
 * Non-overlapping window partition for the image encoder's local attention (image_encoder.py
 * `window_partition` / `window_unpartition`). The token grid is zero-padded at the bottom and right to a
 * multiple of the window; padded tokens take part in attention as keys (SAM does not mask them) and are cut
 * off again afterwards. Only rank-4 reshapes and transposes, which every tfjs backend supports.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface Partitioned {
  /** [B·nWindows, ws, ws, C], windows in row-major order of the padded grid */
  windows: tf.Tensor4D;
  /** padded grid size (Hp, Wp) */
  paddedHW: [number, number];
}

/** x [B, H, W, C] → windows [B·(Hp/ws)·(Wp/ws), ws, ws, C]. */
export function windowPartition(x: tf.Tensor4D, ws: number): Partitioned {
  return tf.tidy(() => {
    const [b, h, w, c] = x.shape;
    const padH = (ws - (h % ws)) % ws;
    const padW = (ws - (w % ws)) % ws;
    const padded = padH > 0 || padW > 0 ? tf.pad(x, [[0, 0], [0, padH], [0, padW], [0, 0]]) : x;
    const hp = h + padH;
    const wp = w + padW;
    const nh = hp / ws;
    const nw = wp / ws;
    // [B·nh, ws, nw, ws·C] → [B·nh, nw, ws, ws·C]: brings each window's rows together.
    const rows = tf.reshape(padded, [b * nh, ws, nw, ws * c]);
    const windows = tf.reshape(tf.transpose(rows, [0, 2, 1, 3]), [b * nh * nw, ws, ws, c]) as tf.Tensor4D;
    return { windows, paddedHW: [hp, wp] as [number, number] };
  }) as unknown as Partitioned;
}

/** Inverse of windowPartition, then the padding is cut off: → [B, H, W, C]. */
export function windowUnpartition(windows: tf.Tensor4D, ws: number, paddedHW: [number, number], hw: [number, number]): tf.Tensor4D {
  return tf.tidy(() => {
    const [hp, wp] = paddedHW;
    const [h, w] = hw;
    const c = windows.shape[3];
    const nh = hp / ws;
    const nw = wp / ws;
    const b = windows.shape[0] / (nh * nw);
    const rows = tf.transpose(tf.reshape(windows, [b * nh, nw, ws, ws * c]), [0, 2, 1, 3]);
    const grid = tf.reshape(rows, [b, hp, wp, c]) as tf.Tensor4D;
    return hp > h || wp > w ? tf.slice(grid, [0, 0, 0, 0], [b, h, w, c]) : grid;
  });
}
