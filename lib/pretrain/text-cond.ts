/**
 * Frozen text conditioning for UNet pretraining: captions → CLIP last_hidden_state [B, 77, width].
 *
 * Uses the trained detex-mini text encoder and tokenizer when `<model>/text_encoder/` has weights; until then
 * a placeholder encoder built from the same config with seeded weights (and the detex-tiny copy of the real
 * CLIP tokenizer), so the UNet loop runs before the text encoder exists. `identity` names which one (the
 * weights' SHA-1) so a checkpoint can tell when its conditioning changed.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { loadCLIPTextModel } from '../models/clip/loader';
import { textConfigFrom } from '../models/clip/config';
import { CLIPTextModel, disposeTextOutput } from '../models/clip/text-model';
import { CLIPTokenizer } from '../models/clip/tokenizer';
import { ParamStore } from '../nn/params';
import { seededInitializer } from '../nn/init';
import { MINI_TEXT_CONFIG } from './clip-config';
import { weightsId } from './weights-id';
import { exportComponent } from './export';
import { textEncoderAdapter } from '../detex/model-adapters';
import type { ConceptEncoder } from './concept-keeper';
import { TOKEN_ROWS_NAME, TrainedTokenRows } from './token-rows';

export class TextConditioner {
  /** set by trainTokenRows: rows substituted into every pass and written into the table on export */
  private tokenRows?: TrainedTokenRows;

  private constructor(
    private readonly model: CLIPTextModel,
    private readonly tokenizer: CLIPTokenizer,
    readonly identity: string,
    /** the `text_encoder/` folder the weights came from (none for the placeholder) */
    private readonly folder?: string,
  ) {}

  /** `modelDir`: the detex-mini folder; `fallbackTokenizer`: a CLIP tokenizer folder (detex-tiny's). */
  static load(modelDir: string, fallbackTokenizer: string, seed = 1): TextConditioner {
    const teDir = path.join(modelDir, 'text_encoder');
    const weights = path.join(teDir, 'model.safetensors');
    const tokDir = path.join(modelDir, 'tokenizer');
    const tokenizer = CLIPTokenizer.fromFolder(fs.existsSync(path.join(tokDir, 'vocab.json')) ? tokDir : fallbackTokenizer);
    if (fs.existsSync(weights)) {
      return new TextConditioner(loadCLIPTextModel(teDir, { warn: () => undefined }), tokenizer, `trained:${weightsId(weights)}`, teDir);
    }
    const store = ParamStore.initializing(seededInitializer(seed));
    const model = new CLIPTextModel(store, textConfigFrom(MINI_TEXT_CONFIG));
    return new TextConditioner(model, tokenizer, `placeholder:${seed}`);
  }

  get width(): number {
    return this.model.config.hidden_size;
  }

  /** The 77 token ids of each caption, as `embed` reads them. */
  tokenIds(captions: readonly string[]): number[][] {
    return this.tokenizer.call(captions, { maxLength: 77 }).inputIds;
  }

  /** A word's own ids (without the start and end tokens). */
  wordIds(word: string): number[] {
    return this.tokenizer.encode(word).slice(1, -1);
  }

  /** [B, 77, width]; the caller owns it. */
  embed(captions: readonly string[]): tf.Tensor3D {
    const out = this.forward(captions);
    const last = out.lastHiddenState.clone() as tf.Tensor3D;
    disposeTextOutput(out);
    return last;
  }

  /**
   * Turns the encoder layers, final norm and projection into trainable variables (keyed `text_encoder/<name>`) for a
   * joint fine-tune with the UNet. The token and position tables stay frozen: DETEX's new embeddings and the
   * concept inspector live in that table, and only the ~60 world words would get gradients anyway.
   */
  trainEncoderLayers(): Map<string, tf.Variable> {
    if (this.tokenRows) throw new Error('trainEncoderLayers: token rows are already trainable; train one or the other');
    const vars = this.model.store.makeTrainable((name) => !name.includes('.embeddings.'));
    return new Map([...vars].map(([name, v]) => [`text_encoder/${name}`, v]));
  }

  /**
   * Turns the token-table rows of `words` (every id each tokenizes to) into one trainable variable, keyed
   * TOKEN_ROWS_NAME, the layers and all other rows frozen (lib/pretrain/token-rows.ts). Not with trainEncoderLayers.
   */
  trainTokenRows(words: readonly string[]): Map<string, tf.Variable> {
    if (this.tokenRows) throw new Error('trainTokenRows: the token rows are already trainable');
    if (this.model.store.trainableNames().length > 0) throw new Error('trainTokenRows: the encoder layers are already trainable; train one or the other');
    const ids = [...new Set(words.flatMap((w) => this.wordIds(w)))];
    this.tokenRows = new TrainedTokenRows(ids, this.model.store.tensor(this.model.tokenTableName) as tf.Tensor2D);
    return new Map([[TOKEN_ROWS_NAME, this.tokenRows.rows]]);
  }

  private forward(captions: readonly string[]) {
    const ids = this.tokenizer.call(captions, { maxLength: 77 }).inputIds;
    const overrides = this.tokenRows?.overridesFor(ids);
    try {
      return this.model.forward(ids, overrides ? { embeddingOverrides: overrides } : {});
    } finally {
      overrides?.vectors.dispose();
    }
  }

  /** last_hidden_state [B, 77, width] and the projected pooled embedding [B, projection] of one pass; the caller owns both. */
  embedWithProjection(captions: readonly string[]): { last: tf.Tensor3D; projected: tf.Tensor2D } {
    const out = this.forward(captions);
    if (!out.textEmbeds) {
      disposeTextOutput(out);
      throw new Error(`text encoder ${this.folder ?? this.identity} has no text_projection: it cannot be anchored`);
    }
    const result = { last: out.lastHiddenState.clone() as tf.Tensor3D, projected: out.textEmbeds.clone() };
    disposeTextOutput(out);
    return result;
  }

  /**
   * This encoder as DETEX drives it (new-token vectors substituted at their slots), with its own tokenizer, to which
   * concept tokens may be added (no world caption contains one). Gradients reach trained layers.
   */
  conceptEncoder(): ConceptEncoder {
    return { tokenizer: this.tokenizer, encoder: textEncoderAdapter(this.model) };
  }

  /** Writes the current weights (F16) and the source folder's config to `dir` (a diffusers `text_encoder/`). */
  exportTo(dir: string, metadata: Record<string, string>): void {
    if (!this.folder) throw new Error('the placeholder text encoder has no config folder to export from');
    const config = JSON.parse(fs.readFileSync(path.join(this.folder, 'config.json'), 'utf8')) as Record<string, unknown>;
    // the overrides already put these rows into every pass, so the table may hold them from now on
    if (this.tokenRows) this.model.store.set(this.model.tokenTableName, this.tokenRows.writeInto(this.model.store.tensor(this.model.tokenTableName) as tf.Tensor2D));
    exportComponent(dir, config, this.model.store, { weightsFile: 'model.safetensors', metadata });
  }

  dispose(): void {
    this.tokenRows?.dispose();
    this.model.store.dispose();
  }
}
