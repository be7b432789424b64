/**
 * segment-anything's `TwoWayTransformer` (transformer.py): prompt tokens (queries) and image tokens (keys)
 * update each other. Each block: token self-attention, token→image cross-attention, token MLP (ReLU),
 * image→token cross-attention, each followed by a LayerNorm (eps 1e-5, PyTorch's default). Positional
 * encodings are re-added to queries and keys at every attention, never to the values.
 */
import * as tf from '@tensorflow/tfjs-core';
import { LayerNorm, ParamStore, relu } from '../../nn';
import { MLPBlock } from './mlp';
import { TokenAttention } from './token-attention';

/** nn.LayerNorm's default eps, which the decoder's norms keep. */
const DECODER_LAYER_NORM_EPS = 1e-5;

export interface TwoWayTransformerOptions {
  depth: number;
  embeddingDim: number;
  heads: number;
  mlpDim: number;
  attentionDownsampleRate: number;
}

class TwoWayAttentionBlock {
  private readonly selfAttn: TokenAttention;
  private readonly crossTokenToImage: TokenAttention;
  private readonly crossImageToToken: TokenAttention;
  private readonly mlp: MLPBlock;
  private readonly norms: LayerNorm[];

  constructor(store: ParamStore, prefix: string, o: TwoWayTransformerOptions, private readonly skipFirstLayerPe: boolean) {
    const c = o.embeddingDim;
    this.selfAttn = new TokenAttention(store, `${prefix}.self_attn`, c, o.heads);
    this.crossTokenToImage = new TokenAttention(store, `${prefix}.cross_attn_token_to_image`, c, o.heads, o.attentionDownsampleRate);
    this.crossImageToToken = new TokenAttention(store, `${prefix}.cross_attn_image_to_token`, c, o.heads, o.attentionDownsampleRate);
    this.mlp = new MLPBlock(store, `${prefix}.mlp`, c, o.mlpDim, relu);
    this.norms = [1, 2, 3, 4].map((i) => new LayerNorm(store, `${prefix}.norm${i}`, c, DECODER_LAYER_NORM_EPS));
  }

  apply(queries: tf.Tensor3D, keys: tf.Tensor3D, queryPe: tf.Tensor3D, keyPe: tf.Tensor3D): [tf.Tensor3D, tf.Tensor3D] {
    return tf.tidy(() => {
      // 1. Self-attention of the tokens (the first block sees no PE and has no residual).
      let q: tf.Tensor3D;
      if (this.skipFirstLayerPe) {
        q = this.selfAttn.apply(queries, queries, queries);
      } else {
        const qp = tf.add(queries, queryPe) as tf.Tensor3D;
        q = tf.add(queries, this.selfAttn.apply(qp, qp, queries));
      }
      q = this.norms[0].apply(q);
      // 2. Tokens attend to the image.
      const kp = tf.add(keys, keyPe) as tf.Tensor3D;
      q = this.norms[1].apply(tf.add(q, this.crossTokenToImage.apply(tf.add(q, queryPe), kp, keys)));
      // 3. MLP on the tokens.
      q = this.norms[2].apply(tf.add(q, this.mlp.apply(q)));
      // 4. The image attends to the tokens.
      const qp2 = tf.add(q, queryPe) as tf.Tensor3D;
      const k = this.norms[3].apply(tf.add(keys, this.crossImageToToken.apply(kp, qp2, q)));
      return [q, k];
    }) as [tf.Tensor3D, tf.Tensor3D];
  }
}

export class TwoWayTransformer {
  private readonly layers: TwoWayAttentionBlock[] = [];
  private readonly finalAttn: TokenAttention;
  private readonly normFinal: LayerNorm;

  constructor(store: ParamStore, prefix: string, readonly opts: TwoWayTransformerOptions) {
    for (let i = 0; i < opts.depth; i++) {
      this.layers.push(new TwoWayAttentionBlock(store, `${prefix}.layers.${i}`, opts, i === 0));
    }
    this.finalAttn = new TokenAttention(store, `${prefix}.final_attn_token_to_image`, opts.embeddingDim, opts.heads, opts.attentionDownsampleRate);
    this.normFinal = new LayerNorm(store, `${prefix}.norm_final_attn`, opts.embeddingDim, DECODER_LAYER_NORM_EPS);
  }

  /**
   * @param image    image embedding [B, H, W, C]
   * @param imagePe  its positional encoding [B, H, W, C]
   * @param tokens   prompt tokens [B, N, C]
   * @returns        processed tokens [B, N, C] and image tokens [B, H·W, C] (row-major)
   */
  apply(image: tf.Tensor4D, imagePe: tf.Tensor4D, tokens: tf.Tensor3D): [tf.Tensor3D, tf.Tensor3D] {
    return tf.tidy(() => {
      const [b, h, w, c] = image.shape;
      const keyPe = tf.reshape(imagePe, [b, h * w, c]) as tf.Tensor3D;
      let keys = tf.reshape(image, [b, h * w, c]) as tf.Tensor3D;
      let queries = tokens;
      for (const layer of this.layers) [queries, keys] = layer.apply(queries, keys, tokens, keyPe);
      const q = tf.add(queries, tokens) as tf.Tensor3D;
      const k = tf.add(keys, keyPe) as tf.Tensor3D;
      queries = this.normFinal.apply(tf.add(queries, this.finalAttn.apply(q, k, keys)));
      return [queries, keys];
    }) as [tf.Tensor3D, tf.Tensor3D];
  }
}
