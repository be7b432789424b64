/**
 * Decomposed relative position bias of the image encoder (MViTv2; image_encoder.py `get_rel_pos`,
 * `add_decomposed_rel_pos`). For query (y, x) and key (ky, kx) the attention logit gets
 *   q(y,x) · Rh[y, ky] + q(y,x) · Rw[x, kx]
 * with the *unscaled* query, where R[i, j] = rel_pos[i − j + (k − 1)] (a table of 2·size − 1 rows).
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * torch `F.interpolate(mode='linear', align_corners=False)` along the rows of table [L, C] to `size` rows:
 * source = (dst + 0.5)·L/size − 0.5, clamped at 0, blend of the two neighbouring rows.
 */
function interpolateRows(table: tf.Tensor2D, size: number): tf.Tensor2D {
  return tf.tidy(() => {
    const len = table.shape[0];
    const scale = len / size;
    const i0 = new Int32Array(size);
    const i1 = new Int32Array(size);
    const w1 = new Float32Array(size);
    for (let d = 0; d < size; d++) {
      const src = Math.max(scale * (d + 0.5) - 0.5, 0);
      const lo = Math.floor(src);
      i0[d] = lo;
      i1[d] = lo < len - 1 ? lo + 1 : lo;
      w1[d] = src - lo;
    }
    const a = tf.gather(table, tf.tensor1d(i0, 'int32'));
    const b = tf.gather(table, tf.tensor1d(i1, 'int32'));
    const t = tf.tensor2d(w1, [size, 1]);
    return tf.add(tf.mul(a, tf.sub(1, t)), tf.mul(b, t));
  });
}

/**
 * Relative position embeddings for every (query, key) pair along one axis: [qSize, kSize, C]. The table is
 * linearly resized first when it was trained for another size.
 */
export function getRelPos(qSize: number, kSize: number, relPos: tf.Tensor2D): tf.Tensor3D {
  return tf.tidy(() => {
    const maxRelDist = 2 * Math.max(qSize, kSize) - 1;
    const table = relPos.shape[0] !== maxRelDist ? interpolateRows(relPos, maxRelDist) : relPos;
    // Coordinates as torch computes them (float32), scaled to the longer axis when sizes differ.
    const qScale = Math.fround(Math.max(kSize / qSize, 1));
    const kScale = Math.fround(Math.max(qSize / kSize, 1));
    const offset = Math.fround((kSize - 1) * kScale);
    const idx = new Int32Array(qSize * kSize);
    for (let i = 0; i < qSize; i++) {
      for (let j = 0; j < kSize; j++) {
        const rel = Math.fround(Math.fround(i * qScale) - Math.fround(j * kScale));
        idx[i * kSize + j] = Math.trunc(Math.fround(rel + offset));
      }
    }
    const rows = tf.gather(table, tf.tensor1d(idx, 'int32'));
    return tf.reshape(rows, [qSize, kSize, table.shape[1]]);
  });
}

/**
 * The additive logit bias for attention over a qH×qW grid attending to a kH×kW grid.
 * @param q  unscaled queries per head, [P, qH·qW, d] (P = batch·heads)
 * @returns  [P, qH·qW, kH·kW]
 */
export function decomposedRelPosBias(
  q: tf.Tensor3D,
  relPosH: tf.Tensor2D,
  relPosW: tf.Tensor2D,
  qHW: [number, number],
  kHW: [number, number],
): tf.Tensor3D {
  return tf.tidy(() => {
    const [qh, qw] = qHW;
    const [kh, kw] = kHW;
    const [p, n, d] = q.shape;
    if (n !== qh * qw) throw new Error(`Error in decomposedRelPosBias: ${n} queries ≠ ${qh}×${qw} grid`);
    const rh = getRelPos(qh, kh, relPosH); // [qh, kh, d]
    const rw = getRelPos(qw, kw, relPosW); // [qw, kw, d]
    const grid = tf.reshape(q, [p, qh, qw, d]);
    // rel_h[p, y, x, ky] = Σc q[p, y, x, c]·Rh[y, ky, c]: batch the matmul over y.
    const byRow = tf.reshape(tf.transpose(grid, [1, 0, 2, 3]), [qh, p * qw, d]);
    const relH = tf.transpose(tf.reshape(tf.matMul(byRow, rh, false, true), [qh, p, qw, kh]), [1, 0, 2, 3]);
    // rel_w[p, y, x, kx] = Σc q[p, y, x, c]·Rw[x, kx, c]: batch over x.
    const byCol = tf.reshape(tf.transpose(grid, [2, 0, 1, 3]), [qw, p * qh, d]);
    const relW = tf.transpose(tf.reshape(tf.matMul(byCol, rw, false, true), [qw, p, qh, kw]), [1, 2, 0, 3]);
    const bias = tf.add(tf.reshape(relH, [p, n, kh, 1]), tf.reshape(relW, [p, n, 1, kw])); // [p, n, kh, kw]
    return tf.reshape(bias, [p, n, kh * kw]);
  });
}
