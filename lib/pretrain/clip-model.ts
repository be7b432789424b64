/**
 * detex-mini's CLIP pair for contrastive pretraining: a CLIPTextModelWithProjection and a
 * CLIPVisionModelWithProjection built from their configs by the package's own classes (so the exported
 * names are the ones the loaders read), plus a learned temperature.
 *
 * The 49408-row token table is frozen; only the rows our texts use (~60 ids) train, as a small variable
 * sub-table fed in through `embeddingOverrides` (one-hot matmul: a gradient every backend has, and no
 * [49408, K] one-hot). `exportTensors` scatters the rows back into the full table; the other rows keep their
 * seeded init.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { ParamStore } from '../nn/params';
import { seededInitializer } from '../nn/init';
import { CLIPTextModel, disposeTextOutput } from '../models/clip/text-model';
import { CLIPVisionModel, disposeVisionOutput } from '../models/clip/vision-model';
import { textConfigFrom, visionConfigFrom } from '../models/clip/config';
import { CLIPTokenizer } from '../models/clip/tokenizer';
import { MINI_TEXT_CONFIG, MINI_VISION_CONFIG } from './clip-config';
import { ATTRIBUTES, Attribute, allTextWords, attributePrompt, attributeValues } from './clip-data';

export const SUB_TABLE = 'text_model.embeddings.token_embedding.rows';
export const LOGIT_SCALE = 'logit_scale';
/** CLIP's init, ln(1/0.07), and its clamp at 100. */
const LOGIT_SCALE_INIT = Math.log(1 / 0.07);
const LOGIT_SCALE_MAX = Math.log(100);

/** Sorted ids of every token our texts can produce (bos, eos and each word's BPE pieces). */
export function usedTokenIds(tok: CLIPTokenizer): number[] {
  const ids = new Set<number>([tok.bosTokenId, tok.eosTokenId, tok.padTokenId]);
  for (const w of allTextWords()) for (const id of tok.encode(w)) ids.add(id);
  return [...ids].sort((a, b) => a - b);
}

export interface EncodedPair {
  /** L2-normalised [B, D] */
  image: tf.Tensor2D;
  text: tf.Tensor2D;
}

export class MiniClip {
  readonly text: CLIPTextModel;
  readonly vision: CLIPVisionModel;
  readonly rows: number[];
  private readonly local = new Map<number, number>();
  /** Every trained variable by name: text and vision parameters, SUB_TABLE, LOGIT_SCALE. */
  readonly vars: Map<string, tf.Variable>;

  /**
   * Fresh seeded weights (`seed`), or `from` an exported pair (`<dir>/text_encoder/model.safetensors` and
   * `<dir>/image_encoder/model.safetensors`, e.g. to measure a text encoder a UNet run trained); the token rows
   * our tokenizer produces.
   */
  constructor(readonly tokenizer: CLIPTokenizer, seed: number, from?: string) {
    const exported = (component: string) => ParamStore.fromSafetensors(path.join(from!, component, 'model.safetensors'));
    const textStore = from === undefined ? ParamStore.initializing(seededInitializer(seed)) : exported('text_encoder');
    let visionStore: ParamStore;
    try {
      visionStore = from === undefined ? ParamStore.initializing(seededInitializer(seed + 1)) : exported('image_encoder');
    } catch (e) {
      textStore.dispose(); // closes the text file it opened
      throw e;
    }
    this.text = new CLIPTextModel(textStore, textConfigFrom(MINI_TEXT_CONFIG), { withProjection: true });
    this.vision = new CLIPVisionModel(visionStore, visionConfigFrom(MINI_VISION_CONFIG), { withProjection: true });
    this.rows = usedTokenIds(tokenizer);
    this.rows.forEach((id, i) => this.local.set(id, i));
    const table = this.text.tokenTableName;
    const sub = tf.tidy(() => tf.gather(textStore.tensor(table), tf.tensor1d(this.rows, 'int32')));
    this.vars = new Map([
      ...textStore.makeTrainable((n) => n !== table && !n.endsWith('position_ids')),
      ...visionStore.makeTrainable((n) => !n.endsWith('position_ids')),
    ]);
    this.vars.set(SUB_TABLE, tf.variable(sub, true, `${SUB_TABLE}#${seed}`));
    sub.dispose();
    this.vars.set(LOGIT_SCALE, tf.variable(tf.scalar(LOGIT_SCALE_INIT), true, `${LOGIT_SCALE}#${seed}`));
  }

  /** Token ids [B, N] padded to the longest text of the batch (positions after the first eos never matter). */
  tokenize(texts: readonly string[]): number[][] {
    const rows = texts.map((t) => this.tokenizer.encode(t));
    const n = Math.max(...rows.map((r) => r.length));
    const pad = this.tokenizer.padTokenId;
    return rows.map((r) => [...r, ...new Array(n - r.length).fill(pad)]);
  }

  /** Text embeddings (projected, L2-normalised) [B, D]. */
  encodeText(ids: number[][]): tf.Tensor2D {
    return tf.tidy(() => {
      const b = ids.length;
      const n = ids[0].length;
      const flat = ids.flat().map((id) => {
        const i = this.local.get(id);
        if (i === undefined) throw new Error(`MiniClip: token ${id} (${this.tokenizer.idToToken(id)}) is not in the trained sub-table`);
        return i;
      });
      const hot = tf.cast(tf.oneHot(tf.tensor1d(flat, 'int32'), this.rows.length), 'float32') as tf.Tensor2D;
      const vectors = tf.matMul(hot, this.vars.get(SUB_TABLE)!) as tf.Tensor2D;
      const positions: Array<[number, number]> = [];
      for (let bi = 0; bi < b; bi++) for (let p = 0; p < n; p++) positions.push([bi, p]);
      const out = this.text.forward(ids, { embeddingOverrides: { positions, vectors } });
      const e = out.textEmbeds!;
      disposeTextOutput({ ...out, textEmbeds: undefined });
      return l2normalize(e);
    });
  }

  /** Image embeddings (projected, L2-normalised) [B, D] from normalised NHWC pixels. */
  encodeImage(pixels: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      const out = this.vision.forward(pixels);
      const e = out.imageEmbeds!;
      disposeVisionOutput({ ...out, imageEmbeds: undefined });
      return l2normalize(e);
    });
  }

  /**
   * Symmetric InfoNCE with the learned temperature. Items with the same text are all positives of each other
   * (soft targets spread evenly over them): short and class captions repeat within a batch.
   */
  loss(pixels: tf.Tensor4D, texts: readonly string[]): tf.Scalar {
    return tf.tidy(() => this.losses(pixels, texts).contrastive);
  }

  /**
   * The InfoNCE above plus, with `truth`, the attribute term: per attribute, a cross-entropy of each image
   * against the prompts of all that attribute's values (`attributePrompt`). Why: in-batch negatives almost
   * never differ in class alone, so colour + background solve the batch and the image tower never learned
   * shape (class zero-shot stayed at chance, 18–25% after 420 steps); every other class is a hard negative
   * here. It is still image–text matching, with the zero-shot texts as the candidate set.
   */
  losses(pixels: tf.Tensor4D, texts: readonly string[], truth?: ReadonlyArray<Record<Attribute, string>>): { contrastive: tf.Scalar; attribute?: tf.Scalar } {
    return tf.tidy(() => {
      const img = this.encodeImage(pixels);
      const txt = this.encodeText(this.tokenize(texts));
      const scale = tf.exp(tf.minimum(this.vars.get(LOGIT_SCALE)!, LOGIT_SCALE_MAX));
      const logits = tf.mul(tf.matMul(img, tf.transpose(txt)), scale) as tf.Tensor2D; // [B image, B text]
      const targets = tf.tensor2d(sameTextTargets(texts), [texts.length, texts.length]);
      const ce = (l: tf.Tensor2D, t: tf.Tensor2D) => tf.neg(tf.mean(tf.sum(tf.mul(t, tf.logSoftmax(l)), 1)));
      const contrastive = tf.mul(tf.add(ce(logits, targets), ce(tf.transpose(logits), targets)), 0.5) as tf.Scalar;
      if (!truth) return { contrastive };
      const terms = ATTRIBUTES.map((attr) => {
        const values = attributeValues(attr);
        const prompts = this.encodeText(this.tokenize(values.map((v) => attributePrompt(attr, v))));
        const hot = new Float32Array(truth.length * values.length);
        truth.forEach((t, i) => (hot[i * values.length + values.indexOf(t[attr])] = 1));
        const l = tf.mul(tf.matMul(img, tf.transpose(prompts)), scale) as tf.Tensor2D;
        return ce(l, tf.tensor2d(hot, [truth.length, values.length]));
      });
      return { contrastive, attribute: tf.div(tf.addN(terms), terms.length) as tf.Scalar };
    }) as unknown as { contrastive: tf.Scalar; attribute?: tf.Scalar };
  }

  /**
   * Scatters the trained rows into the store's full token table, so `exportComponent` writes them (the other
   * rows keep their seeded init). Idempotent; call before every export.
   */
  syncTokenTable(): void {
    const name = this.text.tokenTableName;
    const table = this.text.store.tensor(name);
    const c = table.shape[1]!;
    const data = new Float32Array(table.dataSync());
    const sub = this.vars.get(SUB_TABLE)!.dataSync();
    this.rows.forEach((id, i) => data.set(sub.subarray(i * c, (i + 1) * c), id * c));
    this.text.store.set(name, tf.tensor2d(data, [table.shape[0], c]));
  }

  get temperature(): number {
    return Math.exp(-Math.min(this.vars.get(LOGIT_SCALE)!.dataSync()[0], LOGIT_SCALE_MAX));
  }

  dispose(): void {
    this.vars.get(SUB_TABLE)!.dispose();
    this.vars.get(LOGIT_SCALE)!.dispose();
    this.text.dispose();
    this.vision.dispose();
  }
}

/** Row i: 1/k on each column whose text equals text i (k of them). */
export function sameTextTargets(texts: readonly string[]): Float32Array {
  const b = texts.length;
  const out = new Float32Array(b * b);
  for (let i = 0; i < b; i++) {
    const same = texts.map((t, j) => (t === texts[i] ? j : -1)).filter((j) => j >= 0);
    for (const j of same) out[i * b + j] = 1 / same.length;
  }
  return out;
}

function l2normalize(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.sqrt(tf.add(tf.sum(tf.square(x), 1, true), 1e-12))) as tf.Tensor2D);
}
