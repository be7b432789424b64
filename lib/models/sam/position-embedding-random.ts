/**
 * Random-Fourier positional encoding (prompt_encoder.py `PositionEmbeddingRandom`, after Tancik et al.):
 * a point p in [0,1]² maps to [sin(2π (2p−1)·G), cos(2π (2p−1)·G)], with the fixed Gaussian matrix
 * G = `pe_layer.positional_encoding_gaussian_matrix` (2, C/2), so the encoding has C channels.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ParamStore } from '../../nn';

export class PositionEmbeddingRandom {
  private readonly gaussian: string;

  constructor(private readonly store: ParamStore, prefix: string, readonly numPosFeats: number) {
    this.gaussian = `${prefix}.positional_encoding_gaussian_matrix`;
    store.take(this.gaussian, [2, numPosFeats]);
  }

  /** coords [..., 2] normalised to [0,1] → [..., 2·numPosFeats] */
  encode(coords: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const shape = coords.shape;
      const centred = tf.sub(tf.mul(coords, 2), 1);
      const flat = tf.reshape(centred, [-1, 2]) as tf.Tensor2D;
      const proj = tf.mul(tf.matMul(flat, this.store.tensor(this.gaussian) as tf.Tensor2D), 2 * Math.PI);
      const enc = tf.concat([tf.sin(proj), tf.cos(proj)], 1);
      return tf.reshape(enc, [...shape.slice(0, -1), 2 * this.numPosFeats]);
    });
  }

  /** Encoding of every cell centre of an h×w grid: [1, h, w, C] (NHWC). */
  grid(h: number, w: number): tf.Tensor4D {
    return tf.tidy(() => {
      const xy = new Float32Array(h * w * 2);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          xy[(y * w + x) * 2] = (x + 0.5) / w; // rounded to float32 like torch's division
          xy[(y * w + x) * 2 + 1] = (y + 0.5) / h;
        }
      }
      return tf.reshape(this.encode(tf.tensor3d(xy, [h, w, 2])), [1, h, w, 2 * this.numPosFeats]) as tf.Tensor4D;
    });
  }

  /** Points [B, N, 2] as (x, y) in pixels of an image of size (h, w) → [B, N, C]. */
  encodeCoords(coords: tf.Tensor3D, imageHW: [number, number]): tf.Tensor3D {
    return tf.tidy(() => {
      const norm = tf.div(coords, tf.tensor1d([imageHW[1], imageHW[0]]));
      return this.encode(norm) as tf.Tensor3D;
    });
  }
}
