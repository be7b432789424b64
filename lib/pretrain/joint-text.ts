/**
 * Fine-tuning the text encoder together with the UNet (`unet.js --train-text`, run 12).
 *
 * Why: the detex-mini text encoder was trained contrastively against an image encoder that cannot see pattern,
 * and it hardly tells the pattern words apart: a pattern swap moves its last_hidden_state by 0.11 (relative; a
 * class swap 0.45, a colour swap 0.94; lib/pretrain/text-separation.ts), almost only at the word's own position,
 * and the UNet reads nothing else. Here the diffusion loss reaches the encoder layers (token and position tables
 * stay frozen), and `textAnchorLoss` holds the projected pooled embedding on the frozen original's, which the image
 * encoder is aligned with. (Run 12: with `--text-separate` the pattern separation rose to 0.80, yet the UNet still
 * drew pattern at chance 1.1k steps later — TRAINING.md.)
 *
 * The original is copied to `<cache>/text-reference/` when the run starts, so every resume anchors to the same
 * weights even though each checkpoint re-exports `<out>/text_encoder/`.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { TextConditioner } from './text-cond';
import { textAnchorLoss } from './text-anchor';
import type { ConceptEncoder } from './concept-keeper';

const REFERENCE = 'text-reference';

export class JointTextTraining {
  private constructor(
    readonly text: TextConditioner,
    private readonly reference: TextConditioner,
    readonly vars: Map<string, tf.Variable>,
  ) {}

  /**
   * `text` is the encoder to train (loaded from `<out>`); `resuming`: the cache already holds a checkpoint, whose
   * weights will overwrite these variables, and its reference must already be there. `rows`: train only these
   * words' token rows, the layers frozen (lib/pretrain/token-rows.ts); by default the layers, the table frozen.
   */
  static start(text: TextConditioner, out: string, cache: string, tokenizerFallback: string, resuming: boolean, rows?: readonly string[]): JointTextTraining {
    const refRoot = path.join(cache, REFERENCE);
    const refDir = path.join(refRoot, 'text_encoder');
    if (!resuming) {
      fs.mkdirSync(refDir, { recursive: true });
      for (const f of ['config.json', 'model.safetensors']) fs.copyFileSync(path.join(out, 'text_encoder', f), path.join(refDir, f));
    } else if (!fs.existsSync(path.join(refDir, 'model.safetensors'))) {
      throw new Error(`--train-text: ${cache} holds a checkpoint but no ${path.join(REFERENCE, 'text_encoder')}: the anchor's reference is lost`);
    }
    const reference = TextConditioner.load(refRoot, tokenizerFallback);
    return new JointTextTraining(text, reference, rows ? text.trainTokenRows(rows) : text.trainEncoderLayers());
  }

  get referenceIdentity(): string {
    return this.reference.identity;
  }

  /** The frozen original's last_hidden_state for these captions (the caller owns it): `--text-keep`'s reference. */
  referenceEmbed(captions: string[]): tf.Tensor3D {
    return this.reference.embed(captions);
  }

  /** The frozen original as DETEX drives it: `--concept-keep`'s reference. */
  referenceConceptEncoder(): ConceptEncoder {
    return this.reference.conceptEncoder();
  }

  /** The UNet's conditioning [B, 77, width] and the anchor term for these captions (the caller owns both). */
  embed(captions: readonly string[]): { ehs: tf.Tensor3D; anchor: tf.Scalar } {
    const { last, projected } = this.text.embedWithProjection(captions);
    const ref = tf.tidy(() => {
      const r = this.reference.embedWithProjection(captions);
      r.last.dispose();
      return r.projected;
    });
    const anchor = textAnchorLoss(projected, ref);
    projected.dispose();
    ref.dispose();
    return { ehs: last, anchor };
  }

  export(out: string, step: number): void {
    this.text.exportTo(path.join(out, 'text_encoder'), { step: String(step), anchoredTo: this.reference.identity });
  }

  dispose(): void {
    this.reference.dispose();
  }
}
