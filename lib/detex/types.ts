/**
 * What the DETEX trainer, concept and composer need from the models, as small interfaces. The real
 * CLIPTextModel / CLIP vision model are adapted to these in `model-adapters.ts`; tests may pass tiny ones.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Replace the token embedding of row `batch`, sequence `position` by `vector` (before position embeddings). */
export interface EmbeddingSubstitution {
  batch: number;
  position: number;
  vector: tf.Tensor1D;
}

export interface DetexTextEncoder {
  /** width of the token embeddings and of the output (= the UNet's cross_attention_dim) */
  readonly hiddenSize: number;
  /** the config the model was built from (part of the base-model identity) */
  readonly identityConfig: Record<string, unknown>;
  /** a row of the frozen token-embedding table, [hidden] (caller owns it) */
  tokenEmbedding(id: number): tf.Tensor1D;
  /**
   * last_hidden_state [B, N, hidden] for `inputIds` [B][N]. Ids at substituted positions may lie outside the
   * embedding table (added tokens): they are never looked up. Gradients flow into the substituted vectors.
   */
  encode(inputIds: readonly (readonly number[])[], substitutions: readonly EmbeddingSubstitution[]): tf.Tensor3D;
}

export interface DetexImageEncoder {
  /** width of the projected image embedding */
  readonly embedDim: number;
  /** images NHWC RGB in [0, 1], any size (the encoder does its own preprocessing) → [N, embedDim] */
  embed(images: tf.Tensor4D): tf.Tensor2D;
}
