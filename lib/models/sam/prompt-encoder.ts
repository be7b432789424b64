/**
 * segment-anything's `PromptEncoder` (prompt_encoder.py) in NHWC. Sparse prompts (points, box corners)
 * become tokens: positional encoding of the pixel centre plus a learned type embedding; the dense prompt
 * (a low-res mask) goes through a small conv stack, or `no_mask_embed` is broadcast when there is none.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Conv2d, LayerNorm, ParamStore, gelu } from '../../nn';
import { LAYER_NORM_2D_EPS, SamConfig } from './config';
import { PositionEmbeddingRandom } from './position-embedding-random';

/** point label meaning "padding point" (gets not_a_point_embed, its PE zeroed) */
export const PAD_LABEL = -1;

export interface PromptInputs {
  /** [B, N, 2] as (x, y) in the model input frame (after ResizeLongestSide) */
  pointCoords?: tf.Tensor3D;
  /** [B, N] labels: 1 foreground, 0 background, −1 padding (host values) */
  pointLabels?: Int32Array;
  /** [B, 4] as x0, y0, x1, y1 in the model input frame */
  boxes?: tf.Tensor2D;
  /** [B, 4E, 4E, 1] low-res mask logits (NHWC) */
  masks?: tf.Tensor4D;
}

export interface PromptEmbeddings {
  /** [B, nTokens, C] */
  sparse: tf.Tensor3D;
  /** [B, E, E, C] */
  dense: tf.Tensor4D;
}

export class PromptEncoder {
  readonly embedDim: number;
  /** E: side of the image embedding grid */
  readonly embeddingSize: number;
  readonly inputImageSize: number;
  private readonly pe: PositionEmbeddingRandom;
  private readonly pointEmbeddings: string[] = [];
  private readonly notAPoint: string;
  private readonly noMask: string;
  private readonly maskConv1: Conv2d;
  private readonly maskNorm1: LayerNorm;
  private readonly maskConv2: Conv2d;
  private readonly maskNorm2: LayerNorm;
  private readonly maskConv3: Conv2d;

  constructor(private readonly store: ParamStore, prefix: string, cfg: SamConfig) {
    const c = cfg.prompt_embed_dim;
    const mic = cfg.mask_in_chans;
    this.embedDim = c;
    this.embeddingSize = cfg.image_size / cfg.vit_patch_size;
    this.inputImageSize = cfg.image_size;
    this.pe = new PositionEmbeddingRandom(store, `${prefix}.pe_layer`, c / 2);
    // 0: background point, 1: foreground point, 2: box top-left, 3: box bottom-right.
    for (let i = 0; i < 4; i++) {
      const name = `${prefix}.point_embeddings.${i}.weight`;
      store.take(name, [1, c]);
      this.pointEmbeddings.push(name);
    }
    this.notAPoint = `${prefix}.not_a_point_embed.weight`;
    store.take(this.notAPoint, [1, c]);
    this.noMask = `${prefix}.no_mask_embed.weight`;
    store.take(this.noMask, [1, c]);
    this.maskConv1 = new Conv2d(store, `${prefix}.mask_downscaling.0`, 1, mic / 4, 2, { stride: 2 });
    this.maskNorm1 = new LayerNorm(store, `${prefix}.mask_downscaling.1`, mic / 4, LAYER_NORM_2D_EPS);
    this.maskConv2 = new Conv2d(store, `${prefix}.mask_downscaling.3`, mic / 4, mic, 2, { stride: 2 });
    this.maskNorm2 = new LayerNorm(store, `${prefix}.mask_downscaling.4`, mic, LAYER_NORM_2D_EPS);
    this.maskConv3 = new Conv2d(store, `${prefix}.mask_downscaling.6`, mic, c, 1);
  }

  /** The positional encoding of the image embedding grid: [1, E, E, C] (`get_dense_pe`). */
  getDensePe(): tf.Tensor4D {
    return this.pe.grid(this.embeddingSize, this.embeddingSize);
  }

  /** Point tokens [B, N(+1), C]; `pad` appends the (0, 0) padding point used when there is no box. */
  private embedPoints(coords: tf.Tensor3D, labels: Int32Array, pad: boolean): tf.Tensor3D {
    return tf.tidy(() => {
      const [b, n] = coords.shape;
      if (labels.length !== b * n) throw new Error(`PromptEncoder: ${labels.length} point labels for ${b}×${n} points`);
      let pts: tf.Tensor3D = tf.add(coords, 0.5); // pixel centre
      let lab = labels;
      if (pad) {
        pts = tf.concat([pts, tf.zeros([b, 1, 2])], 1);
        lab = new Int32Array(b * (n + 1));
        for (let i = 0; i < b; i++) {
          lab.set(labels.subarray(i * n, (i + 1) * n), i * (n + 1));
          lab[i * (n + 1) + n] = PAD_LABEL;
        }
      }
      const m = pts.shape[1];
      const pe = this.pe.encodeCoords(pts, [this.inputImageSize, this.inputImageSize]);
      // Per-point masks: keep the PE unless padding; add the embedding matching the label.
      const keep = new Float32Array(b * m);
      const isPad = new Float32Array(b * m);
      const isNeg = new Float32Array(b * m);
      const isPos = new Float32Array(b * m);
      lab.forEach((l, i) => {
        keep[i] = l === PAD_LABEL ? 0 : 1;
        isPad[i] = l === PAD_LABEL ? 1 : 0;
        isNeg[i] = l === 0 ? 1 : 0;
        isPos[i] = l === 1 ? 1 : 0;
      });
      const col = (v: Float32Array) => tf.tensor3d(v, [b, m, 1]);
      let out = tf.mul(pe, col(keep));
      out = tf.add(out, tf.mul(col(isPad), this.store.tensor(this.notAPoint)));
      out = tf.add(out, tf.mul(col(isNeg), this.store.tensor(this.pointEmbeddings[0])));
      out = tf.add(out, tf.mul(col(isPos), this.store.tensor(this.pointEmbeddings[1])));
      return out as tf.Tensor3D;
    });
  }

  /** Box tokens [B, 2, C]: the two corners' PE plus point_embeddings[2] / [3]. */
  private embedBoxes(boxes: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      const b = boxes.shape[0];
      const corners = tf.reshape(tf.add(boxes, 0.5), [b, 2, 2]) as tf.Tensor3D;
      const pe = this.pe.encodeCoords(corners, [this.inputImageSize, this.inputImageSize]);
      const cornerEmb = tf.concat([this.store.tensor(this.pointEmbeddings[2]), this.store.tensor(this.pointEmbeddings[3])], 0);
      return tf.add(pe, cornerEmb) as tf.Tensor3D;
    });
  }

  /** mask_downscaling: [B, 4E, 4E, 1] → [B, E, E, C] */
  private embedMasks(masks: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const s = 4 * this.embeddingSize;
      if (masks.shape[1] !== s || masks.shape[2] !== s || masks.shape[3] !== 1) {
        throw new Error(`PromptEncoder: mask input must be [B, ${s}, ${s}, 1] (NHWC), got [${masks.shape}]`);
      }
      let h = gelu(this.maskNorm1.apply(this.maskConv1.apply(masks))) as tf.Tensor4D;
      h = gelu(this.maskNorm2.apply(this.maskConv2.apply(h))) as tf.Tensor4D;
      return this.maskConv3.apply(h);
    });
  }

  apply(prompts: PromptInputs): PromptEmbeddings {
    return tf.tidy(() => {
      const { pointCoords, pointLabels, boxes, masks } = prompts;
      if ((pointCoords === undefined) !== (pointLabels === undefined)) {
        throw new Error('PromptEncoder: point coordinates and point labels must be given together');
      }
      const b = pointCoords?.shape[0] ?? boxes?.shape[0] ?? masks?.shape[0] ?? 1;
      const parts: tf.Tensor3D[] = [];
      if (pointCoords && pointLabels) parts.push(this.embedPoints(pointCoords, pointLabels, boxes === undefined));
      if (boxes) parts.push(this.embedBoxes(boxes));
      const sparse = parts.length > 0 ? (tf.concat(parts, 1) as tf.Tensor3D) : tf.zeros([b, 0, this.embedDim]) as tf.Tensor3D;
      const e = this.embeddingSize;
      const dense = masks
        ? this.embedMasks(masks)
        : (tf.broadcastTo(tf.reshape(this.store.tensor(this.noMask), [1, 1, 1, this.embedDim]), [b, e, e, this.embedDim]) as tf.Tensor4D);
      return { sparse, dense };
    });
  }
}
