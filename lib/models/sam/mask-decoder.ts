/**
 * segment-anything's `MaskDecoder` (mask_decoder.py) in NHWC. Learned IoU and mask tokens join the prompt
 * tokens, run through the two-way transformer with the image embedding, the image is upscaled ×4 by two
 * stride-2 transposed convs, and each mask token's hypernetwork MLP gives the weights of one mask as a dot
 * product with the upscaled features. The IoU head predicts each mask's quality.
 */
import * as tf from '@tensorflow/tfjs-core';
import { LayerNorm, ParamStore, gelu } from '../../nn';
import { ATTENTION_DOWNSAMPLE_RATE, LAYER_NORM_2D_EPS, SamConfig } from './config';
import { ConvTranspose2d } from './conv-transpose';
import { MLP } from './mlp';
import { TwoWayTransformer } from './two-way-transformer';

export interface MaskDecoderOutput {
  /** low-res mask logits [B, 4E, 4E, M] (NHWC: one channel per mask), M = num_multimask_outputs or 1 */
  masks: tf.Tensor4D;
  /** [B, M] */
  iouPredictions: tf.Tensor2D;
}

/** torch.repeat_interleave along the batch: each item n times in a row. */
function repeatInterleave(x: tf.Tensor4D, n: number): tf.Tensor4D {
  if (n === 1) return x.clone();
  return tf.tidy(() => {
    const [b, h, w, c] = x.shape;
    return tf.reshape(tf.tile(tf.reshape(x, [b, 1, h * w * c]), [1, n, 1]), [b * n, h, w, c]);
  });
}

export class MaskDecoder {
  readonly numMaskTokens: number;
  private readonly transformer: TwoWayTransformer;
  private readonly iouToken: string;
  private readonly maskTokens: string;
  private readonly upConv1: ConvTranspose2d;
  private readonly upNorm: LayerNorm;
  private readonly upConv2: ConvTranspose2d;
  private readonly hypernetworks: MLP[] = [];
  private readonly iouHead: MLP;

  constructor(private readonly store: ParamStore, prefix: string, cfg: SamConfig) {
    const c = cfg.prompt_embed_dim;
    this.numMaskTokens = cfg.num_multimask_outputs + 1;
    this.transformer = new TwoWayTransformer(store, `${prefix}.transformer`, {
      depth: cfg.transformer_depth,
      embeddingDim: c,
      heads: cfg.transformer_num_heads,
      mlpDim: cfg.transformer_mlp_dim,
      attentionDownsampleRate: ATTENTION_DOWNSAMPLE_RATE,
    });
    this.iouToken = `${prefix}.iou_token.weight`;
    store.take(this.iouToken, [1, c]);
    this.maskTokens = `${prefix}.mask_tokens.weight`;
    store.take(this.maskTokens, [this.numMaskTokens, c]);
    // output_upscaling: ConvT(C→C/4) · LayerNorm2d · GELU · ConvT(C/4→C/8) · GELU (indices 0, 1, 3).
    this.upConv1 = new ConvTranspose2d(store, `${prefix}.output_upscaling.0`, c, c / 4, 2, 2);
    this.upNorm = new LayerNorm(store, `${prefix}.output_upscaling.1`, c / 4, LAYER_NORM_2D_EPS);
    this.upConv2 = new ConvTranspose2d(store, `${prefix}.output_upscaling.3`, c / 4, c / 8, 2, 2);
    for (let i = 0; i < this.numMaskTokens; i++) {
      this.hypernetworks.push(new MLP(store, `${prefix}.output_hypernetworks_mlps.${i}`, c, c, c / 8, 3));
    }
    this.iouHead = new MLP(store, `${prefix}.iou_prediction_head`, c, cfg.iou_head_hidden_dim, this.numMaskTokens, cfg.iou_head_depth);
  }

  /**
   * @param imageEmbeddings  [b, E, E, C]; each is repeated for every prompt set (B = b·n)
   * @param imagePe          [b, E, E, C] (`getDensePe()`)
   * @param sparse           prompt tokens [B, N, C]
   * @param dense            dense prompt [B, E, E, C]
   * @param multimaskOutput  true: masks of tokens 1…M; false: token 0 only
   */
  apply(imageEmbeddings: tf.Tensor4D, imagePe: tf.Tensor4D, sparse: tf.Tensor3D, dense: tf.Tensor4D, multimaskOutput: boolean): MaskDecoderOutput {
    return tf.tidy(() => {
      const { masks, iou } = this.predictMasks(imageEmbeddings, imagePe, sparse, dense);
      const [start, count] = multimaskOutput ? [1, this.numMaskTokens - 1] : [0, 1];
      const [b, h, w] = masks.shape;
      return {
        masks: tf.slice(masks, [0, 0, 0, start], [b, h, w, count]) as tf.Tensor4D,
        iouPredictions: tf.slice(iou, [0, start], [b, count]) as tf.Tensor2D,
      };
    }) as unknown as MaskDecoderOutput;
  }

  private predictMasks(image: tf.Tensor4D, imagePe: tf.Tensor4D, sparse: tf.Tensor3D, dense: tf.Tensor4D): { masks: tf.Tensor4D; iou: tf.Tensor2D } {
    return tf.tidy(() => {
      const [bs, , c] = sparse.shape;
      const t = this.numMaskTokens;
      // 1. Tokens: [iou, mask_0 … mask_M, prompts…].
      const outputTokens = tf.concat([this.store.tensor(this.iouToken), this.store.tensor(this.maskTokens)], 0);
      const tokens = tf.concat([tf.broadcastTo(tf.expandDims(outputTokens, 0), [bs, 1 + t, c]), sparse], 1) as tf.Tensor3D;
      // 2. Image side: one copy per prompt set, plus the dense prompt.
      const n = bs / image.shape[0];
      if (!Number.isInteger(n)) throw new Error(`Error in MaskDecoder: ${bs} prompt sets do not repeat ${image.shape[0]} image embeddings evenly`);
      const src = tf.add(repeatInterleave(image, n), dense) as tf.Tensor4D;
      const posSrc = repeatInterleave(imagePe, tokens.shape[0] / imagePe.shape[0]);
      // 3. Two-way transformer.
      const [hs, keys] = this.transformer.apply(src, posSrc, tokens);
      const [, e, e2] = src.shape;
      const iouTokenOut = tf.squeeze(tf.slice(hs, [0, 0, 0], [bs, 1, c]), [1]) as tf.Tensor2D;
      // 4. Upscale the image tokens ×4.
      let up = this.upConv1.apply(tf.reshape(keys, [bs, e, e2, c]) as tf.Tensor4D);
      up = gelu(this.upNorm.apply(up)) as tf.Tensor4D;
      up = gelu(this.upConv2.apply(up)) as tf.Tensor4D;
      const [, uh, uw, uc] = up.shape;
      // 5. One hypernetwork per mask token; mask = its weights · upscaled features.
      const hyper = tf.stack(
        this.hypernetworks.map((mlp, i) => mlp.apply(tf.squeeze(tf.slice(hs, [0, 1 + i, 0], [bs, 1, c]), [1]))),
        1,
      ) as tf.Tensor3D; // [B, T, C/8]
      const masks = tf.matMul(tf.reshape(up, [bs, uh * uw, uc]) as tf.Tensor3D, hyper, false, true); // [B, HW, T]
      // 6. Mask quality.
      const iou = this.iouHead.apply(iouTokenOut);
      return { masks: tf.reshape(masks, [bs, uh, uw, t]) as tf.Tensor4D, iou };
    }) as unknown as { masks: tf.Tensor4D; iou: tf.Tensor2D };
  }
}
