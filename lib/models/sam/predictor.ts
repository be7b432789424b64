/**
 * segment-anything's `SamPredictor` (predictor.py): computes the image embedding once (`setImage`), then
 * answers any number of prompts (`predict`) against it. Holds the only state: the embedding and the two
 * image sizes. Inputs and outputs are host tensors in SamPredictor's own layouts:
 *   pointCoords (N, 2) x, y in original-image pixels   → masks (M, H, W) at the original size
 *   pointLabels (N)  1 fg / 0 bg                        → iouPredictions (M)
 *   box (4) x0, y0, x1, y1                              → lowResMasks (M, 4E, 4E) logits
 *   maskInput (1, 4E, 4E) logits (a previous lowResMasks row)
 * A leading batch axis of 1 is accepted on every input.
 */
import * as tf from '@tensorflow/tfjs-core';
import { HostTensor, asFloat32, hostTensor } from '../../io/host-tensor';
import { ResizeLongestSide, SizeHW, getPreprocessShape } from './resize-longest-side';
import { Sam } from './sam';

export interface PredictOptions {
  pointCoords?: HostTensor;
  pointLabels?: HostTensor;
  box?: HostTensor;
  maskInput?: HostTensor;
  /** three masks (tokens 1…3) instead of one (token 0); default true, as SAM's predict */
  multimaskOutput?: boolean;
  /** return the logits instead of masks thresholded at mask_threshold; default false */
  returnLogits?: boolean;
}

export interface Prediction {
  /** (M, H, W): uint8 0/1, or float32 logits with returnLogits */
  masks: HostTensor;
  /** (M) */
  iouPredictions: HostTensor;
  /** (M, 4E, 4E) float32 logits */
  lowResMasks: HostTensor;
}

export class SamPredictor {
  readonly transform: ResizeLongestSide;
  private features?: tf.Tensor4D;
  private originalSize?: SizeHW;
  private inputSize?: SizeHW;

  constructor(readonly model: Sam) {
    this.transform = new ResizeLongestSide(model.imageSize);
  }

  get isImageSet(): boolean {
    return this.features !== undefined;
  }

  /**
   * Resizes (longest side to image_size, PIL bilinear), normalises, pads and encodes an image.
   * @param image        HWC uint8 with 3 channels (a 4th, alpha, is dropped)
   * @param imageFormat  channel order of `image`; flipped when the model expects the other one
   */
  setImage(image: HostTensor, imageFormat: 'RGB' | 'BGR' = 'RGB'): void {
    if (image.dtype !== 'uint8' || image.shape.length !== 3 || (image.shape[2] !== 3 && image.shape[2] !== 4)) {
      throw new Error(`SamPredictor.setImage: expected an HWC uint8 image with 3 channels, got ${image.dtype} [${image.shape}]`);
    }
    const rgb = image.shape[2] === 4 ? dropAlpha(image) : image;
    const resized = this.transform.applyImage(rgb);
    const [h, w] = rgb.shape;
    const x = tf.tidy(() => {
      let t = tf.tensor4d(Int32Array.from(resized.data as Uint8Array), [1, ...resized.shape] as [number, number, number, number], 'int32');
      if (imageFormat !== this.model.config.image_format) t = tf.reverse(t, 3);
      return this.model.preprocess(t);
    });
    try {
      this.setFeatures(tf.tidy(() => this.model.imageEncoder.apply(x)), [h, w], [resized.shape[0], resized.shape[1]]);
    } finally {
      x.dispose();
    }
  }

  /**
   * Uses an image embedding computed elsewhere (e.g. cached): [1, E, E, C] NHWC. The predictor keeps its
   * own copy. `inputSize` defaults to the ResizeLongestSide size of `originalSize`.
   */
  setImageEmbedding(embedding: tf.Tensor4D, originalSize: SizeHW, inputSize?: SizeHW): void {
    const e = this.model.imageEncoder.gridSize;
    const c = this.model.config.prompt_embed_dim;
    if (embedding.shape[0] !== 1 || embedding.shape[1] !== e || embedding.shape[2] !== e || embedding.shape[3] !== c) {
      throw new Error(`SamPredictor.setImageEmbedding: expected [1, ${e}, ${e}, ${c}] (NHWC), got [${embedding.shape}]`);
    }
    this.setFeatures(embedding.clone(), originalSize, inputSize ?? getPreprocessShape(originalSize[0], originalSize[1], this.model.imageSize));
  }

  private setFeatures(features: tf.Tensor4D, originalSize: SizeHW, inputSize: SizeHW): void {
    this.reset();
    this.features = features;
    this.originalSize = originalSize;
    this.inputSize = inputSize;
  }

  /** The cached image embedding [1, E, E, C] (a copy the caller owns). */
  getImageEmbedding(): tf.Tensor4D {
    return this.requireImage().features.clone();
  }

  private requireImage(): { features: tf.Tensor4D; originalSize: SizeHW; inputSize: SizeHW } {
    if (!this.features || !this.originalSize || !this.inputSize) {
      throw new Error('SamPredictor: an image must be set with setImage(...) before mask prediction');
    }
    return { features: this.features, originalSize: this.originalSize, inputSize: this.inputSize };
  }

  /** Masks for one set of prompts on the current image. */
  predict(opts: PredictOptions = {}): Prediction {
    const { features, originalSize, inputSize } = this.requireImage();
    const { pointCoords, pointLabels, box, maskInput } = opts;
    const multimask = opts.multimaskOutput ?? true;
    if (pointCoords && !pointLabels) throw new Error('SamPredictor.predict: pointLabels must be supplied with pointCoords');
    if (pointLabels && !pointCoords) throw new Error('SamPredictor.predict: pointCoords must be supplied with pointLabels');

    const model = this.model;
    const lowResSide = 4 * model.imageEncoder.gridSize;
    const [masks, iou, lowRes] = tf.tidy(() => {
      // 1. Prompts into the model input frame.
      let coords: tf.Tensor3D | undefined;
      let labels: Int32Array | undefined;
      if (pointCoords && pointLabels) {
        const n = pointCoords.data.length / 2;
        if (!Number.isInteger(n) || pointCoords.shape[pointCoords.shape.length - 1] !== 2) {
          throw new Error(`SamPredictor.predict: pointCoords must be (N, 2), got [${pointCoords.shape}]`);
        }
        if (pointLabels.data.length !== n) throw new Error(`SamPredictor.predict: ${pointLabels.data.length} pointLabels for ${n} points`);
        coords = tf.tensor3d(this.transform.applyCoords(asFloat32(pointCoords), originalSize), [1, n, 2]);
        labels = Int32Array.from(pointLabels.data);
      }
      let boxes: tf.Tensor2D | undefined;
      if (box) {
        if (box.data.length !== 4) throw new Error(`SamPredictor.predict: box must be (4) or (1, 4), got [${box.shape}]`);
        boxes = tf.tensor2d(this.transform.applyBoxes(asFloat32(box), originalSize), [1, 4]);
      }
      let maskTensor: tf.Tensor4D | undefined;
      if (maskInput) {
        if (maskInput.data.length !== lowResSide * lowResSide) {
          throw new Error(`SamPredictor.predict: maskInput must be (1, ${lowResSide}, ${lowResSide}), got [${maskInput.shape}]`);
        }
        maskTensor = tf.tensor4d(asFloat32(maskInput), [1, lowResSide, lowResSide, 1]);
      }
      // 2. Prompt encoder and mask decoder.
      const { sparse, dense } = model.promptEncoder.apply({ pointCoords: coords, pointLabels: labels, boxes, masks: maskTensor });
      const out = model.maskDecoder.apply(features, model.promptEncoder.getDensePe(), sparse, dense, multimask);
      // 3. Upscale to the original image.
      let full: tf.Tensor = model.postprocessMasks(out.masks, inputSize, originalSize);
      if (!opts.returnLogits) full = tf.greater(full, model.maskThreshold);
      // (M, H, W) layouts, as SamPredictor returns.
      return [tf.transpose(tf.squeeze(full, [0]), [2, 0, 1]), tf.squeeze(out.iouPredictions, [0]), tf.transpose(tf.squeeze(out.masks, [0]), [2, 0, 1])];
    });
    try {
      return {
        masks: opts.returnLogits ? hostOf(masks) : hostTensor('uint8', masks.shape, Uint8Array.from(masks.dataSync() as Uint8Array)),
        iouPredictions: hostOf(iou),
        lowResMasks: hostOf(lowRes),
      };
    } finally {
      tf.dispose([masks, iou, lowRes]);
    }
  }

  /** Forgets the image (`reset_image`). */
  reset(): void {
    this.features?.dispose();
    this.features = undefined;
    this.originalSize = undefined;
    this.inputSize = undefined;
  }

  /** Frees the cached embedding; the model stays alive (it may be shared). */
  dispose(): void {
    this.reset();
  }
}

function hostOf(t: tf.Tensor): HostTensor {
  return hostTensor('float32', t.shape, t.dataSync() as Float32Array);
}

/** HWC RGBA → HWC RGB, alpha dropped (PIL convert('RGB') on RGBA does the same). */
function dropAlpha(image: HostTensor): HostTensor {
  const [h, w] = image.shape;
  const src = image.data as Uint8Array;
  const out = new Uint8Array(h * w * 3);
  for (let i = 0; i < h * w; i++) {
    out[i * 3] = src[i * 4];
    out[i * 3 + 1] = src[i * 4 + 1];
    out[i * 3 + 2] = src[i * 4 + 2];
  }
  return hostTensor('uint8', [h, w, 3], out);
}
