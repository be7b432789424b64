/**
 * CLIPTextModel / CLIPTextModelWithProjection (transformers v4.26), parameter names `text_model.*` (+ optional
 * `text_projection.weight`). This is SD v1.x's `text_encoder/`.
 *
 *   embeddings = token_embedding[ids] + position_embedding[position_ids]      [B, N, C]
 *   encoder    = L pre-LN layers, causal mask (+ optional padding mask)
 *   last_hidden_state = final_layer_norm(encoder output)
 *   pooler_output     = last_hidden_state[b, argmax(ids[b])]   (first occurrence; the eos with SD's padding,
 *                        the largest added id when added tokens are present, as in transformers 4.26)
 *   text_embeds       = text_projection(pooler_output)          (when the weights have it)
 *
 * DETEX substitutes vectors for some token embeddings (mapper outputs for [P_i]/[B_i], a learned [V] row):
 * `embeddingOverrides` replaces the token embedding at given (batch, position) pairs, differentiably. The
 * frozen table is read with gather (no gradient needed there; WASM has no gather gradient) and the
 * substituted vectors come in through a one-hot matmul blend, whose gradient every backend has.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Linear } from '../../nn/linear';
import { LayerNorm } from '../../nn/norms';
import { ParamStore } from '../../nn/params';
import { CLIPTextConfig } from './config';
import { CLIPEncoder, FLOAT32_MIN } from './encoder';
import { IdRows, argmaxFirst, toIdRows } from './token-ids';

export interface EmbeddingOverrides {
  /** (batch, position) of each substituted token. */
  positions: ReadonlyArray<readonly [number, number]>;
  /** [K, hidden], row k replaces the token embedding at positions[k]. Gradients flow into it. */
  vectors: tf.Tensor2D;
}

export interface TextForwardOptions {
  /** [B, N], 1 = attend, 0 = padding. SD v1 pipelines do not pass it. */
  attentionMask?: IdRows;
  /** Also return hidden_states: [embeddings, layer 1, …, layer L] (before final_layer_norm). */
  outputHiddenStates?: boolean;
  embeddingOverrides?: EmbeddingOverrides;
}

export interface TextModelOutput {
  lastHiddenState: tf.Tensor3D;
  pooledOutput: tf.Tensor2D;
  /** Present when the model has `text_projection`. */
  textEmbeds?: tf.Tensor2D;
  hiddenStates?: tf.Tensor3D[];
  /** Row index pooled per batch item. */
  poolerIndex: number[];
}

const P = 'text_model';

export class CLIPTextModel {
  readonly tokenTableName = `${P}.embeddings.token_embedding.weight`;
  private readonly positionTableName = `${P}.embeddings.position_embedding.weight`;
  private readonly positionIds: number[];
  private readonly encoder: CLIPEncoder;
  private readonly finalNorm: LayerNorm;
  private readonly projection?: Linear;
  /** Rows appended by resizeTokenEmbeddings, [extra, hidden]; owned by this model. */
  private extraRows: tf.Tensor2D | null = null;

  /**
   * @param withProjection build `text_projection` (default: when the store holds `text_projection.weight`).
   */
  constructor(readonly store: ParamStore, readonly config: CLIPTextConfig, opts: { withProjection?: boolean } = {}) {
    const c = config;
    store.take(this.tokenTableName, [c.vocab_size, c.hidden_size]);
    store.take(this.positionTableName, [c.max_position_embeddings, c.hidden_size]);
    this.positionIds = readPositionIds(store, `${P}.embeddings.position_ids`, c.max_position_embeddings);
    this.encoder = new CLIPEncoder(store, `${P}.encoder`, {
      hidden: c.hidden_size,
      intermediate: c.intermediate_size,
      heads: c.num_attention_heads,
      layers: c.num_hidden_layers,
      eps: c.layer_norm_eps,
      act: c.hidden_act,
    });
    this.finalNorm = new LayerNorm(store, `${P}.final_layer_norm`, c.hidden_size, c.layer_norm_eps);
    if (opts.withProjection ?? store.has('text_projection.weight')) {
      this.projection = new Linear(store, 'text_projection', c.hidden_size, c.projection_dim, { bias: false });
    }
  }

  get hiddenSize(): number {
    return this.config.hidden_size;
  }

  /** Rows in the token table, including rows added by resizeTokenEmbeddings. */
  get numTokens(): number {
    return this.config.vocab_size + (this.extraRows?.shape[0] ?? 0);
  }

  /**
   * Grows the token table to `n` rows for added tokens (transformers' `resize_token_embeddings`). The new rows
   * are `rows` ([n − current, hidden], copied) or, by default, N(0, initializer_range·initializer_factor)
   * with `seed`. Shrinking is not supported.
   */
  resizeTokenEmbeddings(n: number, rows?: tf.Tensor2D | Float32Array, seed = 0): void {
    const add = n - this.numTokens;
    const c = this.config;
    if (!Number.isInteger(n) || n < this.numTokens) {
      throw new Error(`resizeTokenEmbeddings: ${n} rows requested, the table already has ${this.numTokens} (shrinking is not supported)`);
    }
    if (add === 0 && rows === undefined) return;
    const fresh = tf.tidy(() => {
      if (rows === undefined) return tf.randomNormal([add, c.hidden_size], 0, c.initializer_range * c.initializer_factor, 'float32', seed) as tf.Tensor2D;
      const r = rows instanceof tf.Tensor ? rows.clone() : tf.tensor2d(rows, [add, c.hidden_size]);
      if (r.shape[0] !== add || r.shape[1] !== c.hidden_size) {
        throw new Error(`resizeTokenEmbeddings: rows must be [${add}, ${c.hidden_size}], found [${r.shape}]`);
      }
      return r;
    });
    const prev = this.extraRows;
    this.extraRows = prev ? tf.tidy(() => tf.concat([prev, fresh]) as tf.Tensor2D) : fresh;
    if (prev) {
      prev.dispose();
      fresh.dispose();
    }
  }

  /** Replaces the rows of token ids ≥ vocab_size (added tokens); [extra, hidden]. The model keeps a copy. */
  setAddedTokenRows(rows: tf.Tensor2D): void {
    const extra = this.extraRows;
    if (!extra) throw new Error('setAddedTokenRows: no added rows; call resizeTokenEmbeddings first');
    if (!tf.util.arraysEqual(rows.shape, extra.shape)) throw new Error(`setAddedTokenRows: expected [${extra.shape}], found [${rows.shape}]`);
    this.extraRows = rows.clone();
    extra.dispose();
  }

  /** The whole token table [numTokens, hidden] (base + added rows), e.g. for saving a resized checkpoint. Caller owns it. */
  tokenEmbeddingTable(): tf.Tensor2D {
    const base = this.store.tensor(this.tokenTableName) as tf.Tensor2D;
    return tf.tidy(() => (this.extraRows ? (tf.concat([base, this.extraRows]) as tf.Tensor2D) : base.clone()));
  }

  /**
   * Token embeddings plus position embeddings, [B, N, C], with optional substitutions. Differentiable with
   * respect to `overrides.vectors` (and to the added rows), not to the frozen base table.
   */
  embed(ids: number[][], overrides?: EmbeddingOverrides): tf.Tensor3D {
    const b = ids.length;
    const n = ids[0].length;
    const c = this.config;
    const vocab = c.vocab_size;
    const extra = this.extraRows?.shape[0] ?? 0;
    if (n > c.max_position_embeddings) {
      throw new Error(`CLIPTextModel: sequence length ${n} exceeds max_position_embeddings ${c.max_position_embeddings}`);
    }
    for (const row of ids) {
      for (const id of row) {
        if (id < 0 || id >= vocab + extra) throw new Error(`CLIPTextModel: token id ${id} outside the embedding table (${vocab + extra} rows)`);
      }
    }
    return tf.tidy(() => {
      const flat = ids.flat();
      // 1. frozen table rows (ids of added tokens read row 0, then get masked out)
      const baseIds = tf.tensor1d(flat.map((id) => (id < vocab ? id : 0)), 'int32');
      let tokens: tf.Tensor2D = tf.gather(this.store.tensor(this.tokenTableName), baseIds) as tf.Tensor2D; // [B·N, C]
      // 2. added-token rows and overrides come in by one-hot matmuls: [B·N, K] @ [K, C]
      const replaced = new Float32Array(b * n); // 1 where the base row is not used
      if (this.extraRows && flat.some((id) => id >= vocab)) {
        const sel = new Float32Array(b * n * extra);
        flat.forEach((id, i) => {
          if (id >= vocab) {
            sel[i * extra + (id - vocab)] = 1;
            replaced[i] = 1;
          }
        });
        tokens = this.blend(tokens, replaced, tf.matMul(tf.tensor2d(sel, [b * n, extra]), this.extraRows));
      }
      if (overrides) tokens = this.applyOverrides(tokens, overrides, b, n);
      const pos = tf.gather(this.store.tensor(this.positionTableName), tf.tensor1d(this.positionIds.slice(0, n), 'int32')); // [N, C]
      return tf.add(tf.reshape(tokens, [b, n, c.hidden_size]), pos) as tf.Tensor3D;
    });
  }

  /** rows·(1 − mask) + added, where `added` is already zero on unmasked rows. */
  private blend(rows: tf.Tensor2D, mask: Float32Array, added: tf.Tensor2D): tf.Tensor2D {
    const keep = tf.tensor2d(mask.map((m) => 1 - m), [mask.length, 1]);
    return tf.add(tf.mul(rows, keep), added) as tf.Tensor2D;
  }

  private applyOverrides(tokens: tf.Tensor2D, o: EmbeddingOverrides, b: number, n: number): tf.Tensor2D {
    const k = o.positions.length;
    if (o.vectors.rank !== 2 || o.vectors.shape[0] !== k || o.vectors.shape[1] !== this.config.hidden_size) {
      throw new Error(`embeddingOverrides: vectors must be [${k}, ${this.config.hidden_size}], found [${o.vectors.shape}]`);
    }
    const sel = new Float32Array(b * n * k);
    const mask = new Float32Array(b * n);
    o.positions.forEach(([bi, pi], j) => {
      if (!(bi >= 0 && bi < b && pi >= 0 && pi < n)) throw new Error(`embeddingOverrides: position (${bi}, ${pi}) outside the [${b}, ${n}] input`);
      if (mask[bi * n + pi]) throw new Error(`embeddingOverrides: position (${bi}, ${pi}) given twice`);
      sel[(bi * n + pi) * k + j] = 1;
      mask[bi * n + pi] = 1;
    });
    return this.blend(tokens, mask, tf.matMul(tf.tensor2d(sel, [b * n, k]), o.vectors));
  }

  /** Causal mask plus optional padding mask as one additive bias [B|1, 1, N, N]. */
  private attentionBias(n: number, mask?: number[][]): tf.Tensor4D {
    const b = mask ? mask.length : 1;
    const bias = new Float32Array(b * n * n);
    for (let bi = 0; bi < b; bi++) {
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          const allowed = j <= i && (!mask || mask[bi][j] !== 0);
          if (!allowed) bias[(bi * n + i) * n + j] = FLOAT32_MIN;
        }
      }
    }
    return tf.tensor4d(bias, [b, 1, n, n]);
  }

  /** Runs the text model. The caller owns every returned tensor (see disposeTextOutput). */
  forward(inputIds: IdRows, opts: TextForwardOptions = {}): TextModelOutput {
    const ids = toIdRows(inputIds, 'CLIPTextModel input_ids');
    const b = ids.length;
    const n = ids[0].length;
    let mask: number[][] | undefined;
    if (opts.attentionMask !== undefined) {
      mask = toIdRows(opts.attentionMask, 'CLIPTextModel attention_mask');
      if (mask.length !== b || mask[0].length !== n) throw new Error(`CLIPTextModel: attention_mask is [${mask.length}, ${mask[0].length}], input_ids [${b}, ${n}]`);
    }
    const poolerIndex = ids.map(argmaxFirst);
    const keep = opts.outputHiddenStates ?? false;

    const result = tf.tidy(() => {
      const x = this.embed(ids, opts.embeddingOverrides);
      const bias = this.attentionBias(n, mask);
      const { out, hiddenStates } = this.encoder.apply(x, bias, keep);
      const last = this.finalNorm.apply(out);
      // pooled = last[b, poolerIndex[b]] as a one-hot contraction (differentiable on every backend)
      const sel = new Float32Array(b * n);
      poolerIndex.forEach((p, bi) => (sel[bi * n + p] = 1));
      const pooled = tf.reshape(tf.matMul(tf.tensor3d(sel, [b, 1, n]), last), [b, this.config.hidden_size]) as tf.Tensor2D;
      const embeds = this.projection ? this.projection.apply(pooled) : undefined;
      return { last, pooled, embeds, hiddenStates };
    });
    return {
      lastHiddenState: result.last,
      pooledOutput: result.pooled,
      textEmbeds: result.embeds,
      hiddenStates: result.hiddenStates,
      poolerIndex,
    };
  }

  dispose(): void {
    this.extraRows?.dispose();
    this.extraRows = null;
    this.store.dispose();
  }
}

/** Disposes every tensor of a text-model output. */
export function disposeTextOutput(o: TextModelOutput): void {
  o.lastHiddenState.dispose();
  o.pooledOutput.dispose();
  o.textEmbeds?.dispose();
  o.hiddenStates?.forEach((t) => t.dispose());
}

/**
 * The `position_ids` buffer (transformers saves it; SD v1.4 has it) or arange when absent. Reading it also
 * marks it as used, so it is not reported as an unexpected weight.
 */
export function readPositionIds(store: ParamStore, name: string, count: number): number[] {
  if (!store.has(name)) return Array.from({ length: count }, (_, i) => i);
  store.take(name, [1, count]);
  const t = store.tensor(name);
  const values = Array.from(t.dataSync(), Number);
  if (values.some((v) => !Number.isInteger(v) || v < 0 || v >= count)) throw new Error(`${name}: values must be positions in [0, ${count})`);
  return values;
}
