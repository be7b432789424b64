/**
 * CLIPVisionModel / CLIPVisionModelWithProjection (transformers v4.26), parameter names `vision_model.*`
 * (+ optional `visual_projection.weight`). Used for the CLIP-I metric and DETEX's image encoder.
 *
 *   patches = Conv2d(3→C, k = s = patch_size, no bias)(pixels)     row-major [B, (H/p)·(W/p), C]
 *   tokens  = [class_embedding, patches] + position_embedding       [B, 1 + (H/p)(W/p), C]
 *   x       = pre_layrnorm(tokens) (sic)  → encoder (no mask)
 *   last_hidden_state = encoder output (no post-LN)
 *   pooler_output     = post_layernorm(last_hidden_state[:, 0])
 *   image_embeds      = visual_projection(pooler_output)   (not normalized)
 *
 * Input pixels are NHWC [B, H, W, C] with H = W = image_size (transformers 4.26 does not interpolate).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Conv2d } from '../../nn/conv2d';
import { Linear } from '../../nn/linear';
import { LayerNorm } from '../../nn/norms';
import { ParamStore } from '../../nn/params';
import { CLIPVisionConfig } from './config';
import { CLIPEncoder } from './encoder';
import { readPositionIds } from './text-model';

export interface VisionModelOutput {
  lastHiddenState: tf.Tensor3D;
  pooledOutput: tf.Tensor2D;
  /** Present when the model has `visual_projection`. */
  imageEmbeds?: tf.Tensor2D;
  /** [pre_layrnorm output, layer 1, …, layer L]. */
  hiddenStates?: tf.Tensor3D[];
}

const P = 'vision_model';

export class CLIPVisionModel {
  private readonly patch: Conv2d;
  private readonly classEmbedding = `${P}.embeddings.class_embedding`;
  private readonly positionTable = `${P}.embeddings.position_embedding.weight`;
  private readonly positionIds: number[];
  private readonly preNorm: LayerNorm;
  private readonly encoder: CLIPEncoder;
  private readonly postNorm: LayerNorm;
  private readonly projection?: Linear;
  readonly numPositions: number;

  constructor(readonly store: ParamStore, readonly config: CLIPVisionConfig, opts: { withProjection?: boolean } = {}) {
    const c = config;
    const grid = c.image_size / c.patch_size;
    this.numPositions = grid * grid + 1;
    this.patch = new Conv2d(store, `${P}.embeddings.patch_embedding`, c.num_channels, c.hidden_size, c.patch_size, {
      stride: c.patch_size,
      bias: false,
    });
    store.take(this.classEmbedding, [c.hidden_size]);
    store.take(this.positionTable, [this.numPositions, c.hidden_size]);
    this.positionIds = readPositionIds(store, `${P}.embeddings.position_ids`, this.numPositions);
    this.preNorm = new LayerNorm(store, `${P}.pre_layrnorm`, c.hidden_size, c.layer_norm_eps);
    this.encoder = new CLIPEncoder(store, `${P}.encoder`, {
      hidden: c.hidden_size,
      intermediate: c.intermediate_size,
      heads: c.num_attention_heads,
      layers: c.num_hidden_layers,
      eps: c.layer_norm_eps,
      act: c.hidden_act,
    });
    this.postNorm = new LayerNorm(store, `${P}.post_layernorm`, c.hidden_size, c.layer_norm_eps);
    if (opts.withProjection ?? store.has('visual_projection.weight')) {
      this.projection = new Linear(store, 'visual_projection', c.hidden_size, c.projection_dim, { bias: false });
    }
  }

  /** pixelValues: NHWC [B, image_size, image_size, num_channels], already normalized. Caller owns the outputs. */
  forward(pixelValues: tf.Tensor4D, opts: { outputHiddenStates?: boolean } = {}): VisionModelOutput {
    const c = this.config;
    const [b, h, w, ch] = pixelValues.shape;
    if (h !== c.image_size || w !== c.image_size || ch !== c.num_channels) {
      throw new Error(`CLIPVisionModel: pixel values must be NHWC [B, ${c.image_size}, ${c.image_size}, ${c.num_channels}], found [${pixelValues.shape}]`);
    }
    const keep = opts.outputHiddenStates ?? false;
    const r = tf.tidy(() => {
      const patches = tf.reshape(this.patch.apply(pixelValues), [b, this.numPositions - 1, c.hidden_size]);
      const cls = tf.broadcastTo(tf.reshape(this.store.tensor(this.classEmbedding), [1, 1, c.hidden_size]), [b, 1, c.hidden_size]);
      const pos = tf.gather(this.store.tensor(this.positionTable), tf.tensor1d(this.positionIds, 'int32'));
      const tokens = tf.add(tf.concat([cls, patches], 1), pos) as tf.Tensor3D;
      const { out, hiddenStates } = this.encoder.apply(this.preNorm.apply(tokens), undefined, keep);
      const first = tf.reshape(tf.slice(out, [0, 0, 0], [b, 1, c.hidden_size]), [b, c.hidden_size]) as tf.Tensor2D;
      const pooled = this.postNorm.apply(first);
      const embeds = this.projection ? this.projection.apply(pooled) : undefined;
      return { out, pooled, embeds, hiddenStates };
    });
    return { lastHiddenState: r.out, pooledOutput: r.pooled, imageEmbeds: r.embeds, hiddenStates: r.hiddenStates };
  }

  dispose(): void {
    this.store.dispose();
  }
}

export function disposeVisionOutput(o: VisionModelOutput): void {
  o.lastHiddenState.dispose();
  o.pooledOutput.dispose();
  o.imageEmbeds?.dispose();
  o.hiddenStates?.forEach((t) => t.dispose());
}
