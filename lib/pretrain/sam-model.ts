/**
 * detex-mini's SAM for pretraining: the package's `Sam` built from MINI_SAM_CONFIG with seeded weights, and
 * the SAM paper's loss on its low-res (here full-res 64×64) masks: 20·focal + dice per mask (for a single
 * positive point the three multimask outputs compete and only the best one is trained), plus the MSE of
 * the IoU prediction against each mask's actual IoU.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ParamStore } from '../nn/params';
import { Initializer } from '../nn/params';
import { seededInitializer } from '../nn/init';
import { hostTensor } from '../io/host-tensor';
import { Rng } from '../random';
import { Sam } from '../models/sam/sam';
import { samConfigFrom } from '../models/sam/config';
import { RenderedScene } from '../world';
import { MINI_SAM_CONFIG } from './sam-config';
import { ScenePrompt } from './sam-data';

const GAUSSIAN = 'prompt_encoder.pe_layer.positional_encoding_gaussian_matrix';

/**
 * seededInitializer, except SAM's random Fourier matrix: a fixed N(0, 1) buffer in segment-anything (scale
 * 1.0). The generic rule would give it std 0.02, which makes every position encode almost alike.
 */
export function samInitializer(seed: number): Initializer {
  const base = seededInitializer(seed);
  return (name, shape) => {
    if (name !== GAUSSIAN) return base(name, shape);
    return hostTensor('float32', [...shape], new Rng(seed).fork(name).normal(shape));
  };
}

/** uint8 renders → [B, 64, 64, 3] float 0…255 (Sam.preprocess normalises). */
export function sceneImages(scenes: readonly RenderedScene[]): tf.Tensor4D {
  const s = scenes[0].image.shape[0];
  const data = new Float32Array(scenes.length * s * s * 3);
  scenes.forEach((sc, i) => data.set(sc.image.data as Uint8Array, i * s * s * 3));
  return tf.tensor4d(data, [scenes.length, s, s, 3]);
}

export function sceneMasks(scenes: readonly RenderedScene[]): tf.Tensor4D {
  const s = scenes[0].mask.shape[0];
  const data = new Float32Array(scenes.length * s * s);
  scenes.forEach((sc, i) => data.set(sc.mask.data as Uint8Array, i * s * s));
  return tf.tensor4d(data, [scenes.length, s, s, 1]);
}

/** Prompt tensors for items that all share one kind (same token count). Caller owns them. */
function promptTensors(prompts: readonly ScenePrompt[]): { pointCoords?: tf.Tensor3D; pointLabels?: Int32Array; boxes?: tf.Tensor2D } {
  const n = prompts.length;
  const k = prompts[0].points.length;
  const out: ReturnType<typeof promptTensors> = {};
  if (k > 0) {
    out.pointCoords = tf.tensor3d(prompts.flatMap((p) => p.points.flat()), [n, k, 2]);
    out.pointLabels = Int32Array.from(prompts.flatMap((p) => p.labels));
  }
  if (prompts[0].box) out.boxes = tf.tensor2d(prompts.flatMap((p) => p.box!), [n, 4]);
  return out;
}

export interface MaskPrediction {
  /** [n, 64, 64, M] logits */
  masks: tf.Tensor4D;
  /** [n, M] */
  iou: tf.Tensor2D;
}

export class MiniSam {
  readonly sam: Sam;
  readonly vars: Map<string, tf.Variable>;

  constructor(seed: number) {
    this.sam = new Sam(ParamStore.initializing(samInitializer(seed)), samConfigFrom(MINI_SAM_CONFIG));
    this.vars = this.sam.store.makeTrainable((n) => n !== GAUSSIAN);
  }

  /** Image embeddings [B, 16, 16, C] of uint8-valued images. */
  embed(images: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.sam.imageEncoder.apply(this.sam.preprocess(images)));
  }

  /** Masks for n prompts of one kind on their n image embeddings. */
  decode(embeddings: tf.Tensor4D, prompts: readonly ScenePrompt[], multimask: boolean): MaskPrediction {
    return tf.tidy(() => {
      const p = promptTensors(prompts);
      const { sparse, dense } = this.sam.promptEncoder.apply(p);
      const r = this.sam.maskDecoder.apply(embeddings, this.sam.promptEncoder.getDensePe(), sparse, dense, multimask);
      return { masks: r.masks, iou: r.iouPredictions };
    }) as unknown as MaskPrediction;
  }

  /**
   * Loss of one group (same prompt kind) against the true masks [n, 64, 64, 1]; returns the summed mask and
   * IoU losses (the caller averages over the batch) and their parts for logging.
   */
  groupLoss(embeddings: tf.Tensor4D, prompts: readonly ScenePrompt[], truth: tf.Tensor4D): { mask: tf.Scalar; iou: tf.Scalar } {
    return tf.tidy(() => {
      const multimask = prompts[0].kind === 'point';
      const { masks, iou } = this.decode(embeddings, prompts, multimask);
      const perMask = tf.add(tf.mul(focalLoss(masks, truth), 20), diceLoss(masks, truth)); // [n, M]
      const best = multimask ? tf.min(perMask, 1) : tf.squeeze(perMask, [1]);
      // Target IoU of each predicted mask: read on the host (thresholding has no gradient in tfjs).
      const actual = tf.tensor2d(maskIoU(masks.dataSync() as Float32Array, truth.dataSync() as Float32Array, masks.shape), iou.shape);
      return { mask: tf.sum(best) as tf.Scalar, iou: tf.sum(tf.mean(tf.square(tf.sub(iou, actual)), 1)) as tf.Scalar };
    }) as unknown as { mask: tf.Scalar; iou: tf.Scalar };
  }

  dispose(): void {
    this.sam.dispose();
  }
}

/** Sigmoid focal loss (α 0.25, γ 2), mean over pixels: [n, H, W, M] logits vs [n, H, W, 1] → [n, M]. */
export function focalLoss(logits: tf.Tensor4D, truth: tf.Tensor4D, alpha = 0.25, gamma = 2): tf.Tensor2D {
  return tf.tidy(() => {
    const p = tf.sigmoid(logits);
    const ce = tf.sub(tf.softplus(logits), tf.mul(logits, truth)); // BCE with logits
    const pt = tf.add(tf.mul(p, truth), tf.mul(tf.sub(1, p), tf.sub(1, truth)));
    const at = tf.add(tf.mul(truth, alpha), tf.mul(tf.sub(1, truth), 1 - alpha));
    return tf.mean(tf.mul(tf.mul(at, ce), tf.pow(tf.sub(1, pt), gamma)), [1, 2]) as tf.Tensor2D;
  });
}

/** Soft dice loss 1 − (2Σpt + 1)/(Σp + Σt + 1): [n, M]. */
export function diceLoss(logits: tf.Tensor4D, truth: tf.Tensor4D): tf.Tensor2D {
  return tf.tidy(() => {
    const p = tf.sigmoid(logits);
    const inter = tf.sum(tf.mul(p, truth), [1, 2]);
    const total = tf.add(tf.sum(p, [1, 2]), tf.sum(truth, [1, 2]));
    return tf.sub(1, tf.div(tf.add(tf.mul(inter, 2), 1), tf.add(total, 1))) as tf.Tensor2D;
  });
}

/** IoU of (logits > 0) with the binary truth per item and mask: host data [n·H·W·M] and [n·H·W] → [n·M]. */
export function maskIoU(logits: Float32Array, truth: Float32Array, shape: readonly number[]): Float32Array {
  const [n, h, w, m] = shape;
  const out = new Float32Array(n * m);
  for (let b = 0; b < n; b++) {
    for (let k = 0; k < m; k++) {
      let inter = 0;
      let union = 0;
      for (let i = 0; i < h * w; i++) {
        const p = logits[(b * h * w + i) * m + k] > 0;
        const t = truth[b * h * w + i] > 0.5;
        if (p && t) inter++;
        if (p || t) union++;
      }
      out[b * m + k] = union === 0 ? 1 : inter / union;
    }
  }
  return out;
}
