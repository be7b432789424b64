/**
 * A few rows of the text encoder's token table made trainable, the encoder layers frozen (`unet.js
 * --train-text-rows`, session 19).
 *
 * Why: training the encoder layers (runs 26–30) taught the UNet to read the pattern words, and every such encoder
 * left DETEX worse — its [V] and [B_i] pass through those layers as new vectors. DETEX's prompts hold no world
 * attribute word, so if only the pattern words' own rows change, DETEX meets exactly the shipped encoder.
 *
 * The rows come in as embedding overrides (a one-hot matmul blend in CLIPTextModel.embed), so the gradient reaches
 * them on every backend and the frozen table is never written during training; `writeInto` puts them into a copy of
 * the table for export.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { EmbeddingOverrides } from '../models/clip/text-model';
import { worldVocabulary } from '../world/vocabulary';
import { parseAttributeList } from './caption-attributes';

/** The checkpoint key of the trained rows (one variable, [rows, width]). */
export const TOKEN_ROWS_NAME = 'text_encoder/trained_token_rows';

/** The world's attribute words whose rows may be trained: class, colour, pattern and background words. */
export function attributeWords(): string[] {
  const v = worldVocabulary();
  const words = [...v.classes, ...v.colours, ...Object.values(v.patternWords), ...Object.values(v.backgroundWords)];
  return [...new Set(words.filter((w) => w !== ''))];
}

/** `--train-text-rows striped,dotted,checked` → the words, each one of attributeWords() and given once. */
export function parseTrainedWords(spec: string, flag = '--train-text-rows'): string[] {
  return parseAttributeList(spec, attributeWords(), flag, true);
}

export class TrainedTokenRows {
  private readonly slot: Map<number, number>;

  /** `ids`: distinct token ids; `table`: the frozen token table [vocab, width], whose rows start the variable. */
  constructor(readonly ids: readonly number[], table: tf.Tensor2D) {
    if (ids.length === 0) throw new Error('TrainedTokenRows: no token ids to train');
    if (new Set(ids).size !== ids.length) throw new Error(`TrainedTokenRows: token ids repeat: ${ids.join(', ')}`);
    for (const id of ids) {
      if (!(Number.isInteger(id) && id >= 0 && id < table.shape[0])) throw new Error(`TrainedTokenRows: token id ${id} outside the table (${table.shape[0]} rows)`);
    }
    this.slot = new Map(ids.map((id, k) => [id, k]));
    const start = tf.tidy(() => tf.gather(table, tf.tensor1d([...ids], 'int32')) as tf.Tensor2D);
    this.rows = tf.variable(start, true, `${TOKEN_ROWS_NAME}#${Math.random().toString(36).slice(2, 8)}`);
    start.dispose();
  }

  readonly rows: tf.Variable<tf.Rank.R2>;

  /**
   * The overrides that put the trained rows wherever their ids occur in `ids` [B, N], or undefined when none does.
   * The caller disposes `vectors` (a one-hot selection of the rows, so the gradient reaches them).
   */
  overridesFor(ids: readonly (readonly number[])[]): EmbeddingOverrides | undefined {
    const positions: [number, number][] = [];
    const picks: number[] = [];
    ids.forEach((row, b) =>
      row.forEach((id, p) => {
        const k = this.slot.get(id);
        if (k !== undefined) {
          positions.push([b, p]);
          picks.push(k);
        }
      }),
    );
    if (positions.length === 0) return undefined;
    const k = this.ids.length;
    const sel = new Float32Array(picks.length * k);
    picks.forEach((slot, i) => (sel[i * k + slot] = 1));
    const vectors = tf.tidy(() => tf.matMul(tf.tensor2d(sel, [picks.length, k]), this.rows) as tf.Tensor2D);
    return { positions, vectors };
  }

  /** A copy of `table` with the trained rows in place (the caller owns it). */
  writeInto(table: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const n = table.shape[0];
      const mask = new Float32Array(n);
      const sel = new Float32Array(n * this.ids.length);
      this.ids.forEach((id, k) => {
        mask[id] = 1;
        sel[id * this.ids.length + k] = 1;
      });
      const keep = tf.sub(1, tf.tensor2d(mask, [n, 1]));
      return tf.add(tf.mul(table, keep), tf.matMul(tf.tensor2d(sel, [n, this.ids.length]), this.rows)) as tf.Tensor2D;
    });
  }

  dispose(): void {
    this.rows.dispose();
  }
}
