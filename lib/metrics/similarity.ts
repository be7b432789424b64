/**
 * The paper's evaluation scores (§4.1), as cosines of embeddings:
 *   CLIP-T   mean over generated images of cos(E_I^CLIP(gen), E_T^CLIP(prompt without pseudo-words))
 *   CLIP-I   mean over (generated, input) pairs of cos(E_I^CLIP(gen), E_I^CLIP(input))
 *   DINO-I   the same with DINO ViT-S/16 CLS features
 *   (FG)     the same with the inputs' backgrounds removed by their masks (x·m + blank·(1−m), black by default)
 * Encoders are passed in as functions, so the scores do not depend on how a model is loaded.
 */
import * as tf from '@tensorflow/tfjs-core';
import { filterBackground } from '../detex/data';

/** Images NHWC RGB in [0, 1] → one embedding per image. */
export type ImageEmbedder = (images: tf.Tensor4D) => Float32Array[];
/** Prompt → its (projected) text embedding. */
export type TextEmbedder = (text: string) => Float32Array;

export function cosine(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`cosine: embeddings of width ${a.length} and ${b.length}`);
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

/** Mean cosine over all (generated, reference) pairs: CLIP-I / DINO-I. */
export function meanPairwiseCosine(generated: readonly Float32Array[], references: readonly Float32Array[]): number {
  if (!generated.length || !references.length) throw new Error('meanPairwiseCosine: no embeddings');
  let s = 0;
  for (const g of generated) for (const r of references) s += cosine(g, r);
  return s / (generated.length * references.length);
}

/** CLIP-T: mean cosine of each generated image with the prompt. */
export function clipTextScore(generated: readonly Float32Array[], text: Float32Array): number {
  if (!generated.length) throw new Error('clipTextScore: no images');
  return generated.reduce((s, g) => s + cosine(g, text), 0) / generated.length;
}

export interface EvalInputs {
  /** generated images [G, H, W, 3] in [0, 1] */
  generated: tf.Tensor4D;
  /** the subject's input images [N, H, W, 3] and masks [N, H, W, 1] */
  references: tf.Tensor4D;
  masks?: tf.Tensor4D;
  /** the prompt with the pseudo-words removed (composer's plainText) */
  plainPrompt?: string;
  clipImage: ImageEmbedder;
  clipText?: TextEmbedder;
  dino?: ImageEmbedder;
  /** background colour for the (FG) inputs */
  blank?: [number, number, number];
}

export interface EvalScores {
  clipT?: number;
  clipI: number;
  clipIFG?: number;
  dinoI?: number;
  dinoIFG?: number;
}

export function evaluateImages(o: EvalInputs): EvalScores {
  const fg = o.masks ? filterBackground(o.references, o.masks, o.blank ?? [0, 0, 0]) : undefined;
  try {
    const genClip = o.clipImage(o.generated);
    const scores: EvalScores = { clipI: meanPairwiseCosine(genClip, o.clipImage(o.references)) };
    if (fg) scores.clipIFG = meanPairwiseCosine(genClip, o.clipImage(fg));
    if (o.clipText && o.plainPrompt !== undefined) scores.clipT = clipTextScore(genClip, o.clipText(o.plainPrompt));
    if (o.dino) {
      const genDino = o.dino(o.generated);
      scores.dinoI = meanPairwiseCosine(genDino, o.dino(o.references));
      if (fg) scores.dinoIFG = meanPairwiseCosine(genDino, o.dino(fg));
    }
    return scores;
  } finally {
    fg?.dispose();
  }
}
