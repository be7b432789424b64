/**
 * segment-anything's `Sam` (sam.py): the three parts plus image pre- and mask postprocessing. Pure: it keeps
 * no image state between calls (SamPredictor does). NHWC throughout; masks are NHWC with one channel per
 * mask.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ParamStore } from '../../nn';
import { SamConfig } from './config';
import { ImageEncoderViT } from './image-encoder';
import { MaskDecoder } from './mask-decoder';
import { PromptEncoder } from './prompt-encoder';
import { SizeHW } from './resize-longest-side';

export class Sam {
  readonly imageEncoder: ImageEncoderViT;
  readonly promptEncoder: PromptEncoder;
  readonly maskDecoder: MaskDecoder;

  /** Builds every part from `cfg`, taking the official `image_encoder.*`, `prompt_encoder.*`, `mask_decoder.*` names. */
  constructor(readonly store: ParamStore, readonly config: SamConfig) {
    this.imageEncoder = new ImageEncoderViT(store, 'image_encoder', config);
    this.promptEncoder = new PromptEncoder(store, 'prompt_encoder', config);
    this.maskDecoder = new MaskDecoder(store, 'mask_decoder', config);
  }

  get imageSize(): number {
    return this.config.image_size;
  }

  get maskThreshold(): number {
    return this.config.mask_threshold;
  }

  /** See `preprocessImage`. */
  preprocess(image: tf.Tensor4D): tf.Tensor4D {
    return preprocessImage(image, this.config);
  }

  /** See `postprocessMasks`. */
  postprocessMasks(masks: tf.Tensor4D, inputSize: SizeHW, originalSize: SizeHW): tf.Tensor4D {
    return postprocessMasks(masks, this.imageSize, inputSize, originalSize);
  }

  dispose(): void {
    this.store.dispose();
  }
}

/**
 * `Sam.preprocess`: (x − pixel_mean) / pixel_std, then zero padding at the right and bottom to a square of
 * image_size. The padding comes after normalisation, so padded pixels are 0, not −mean/std.
 * @param image  resized image [B, h, w, 3], values 0…255 (any numeric dtype)
 * @returns      [B, image_size, image_size, 3] float32
 */
export function preprocessImage(image: tf.Tensor4D, config: Pick<SamConfig, 'image_size' | 'pixel_mean' | 'pixel_std'>): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, w, c] = image.shape;
    const s = config.image_size;
    if (c !== 3) throw new Error(`Sam.preprocess: expected 3 channels (NHWC), got [${image.shape}]`);
    if (h > s || w > s) throw new Error(`Sam.preprocess: image ${h}×${w} is larger than image_size ${s}; resize it first (ResizeLongestSide)`);
    const x = tf.cast(image, 'float32');
    const normed = tf.div(tf.sub(x, tf.tensor1d(config.pixel_mean)), tf.tensor1d(config.pixel_std));
    return tf.pad(normed, [[0, 0], [0, s - h], [0, s - w], [0, 0]]) as tf.Tensor4D;
  });
}

/**
 * `Sam.postprocess_masks`: bilinear upscale (align_corners=False, no antialias) to imageSize², crop the
 * padding away (to `inputSize`, the resized image), bilinear resize to `originalSize`.
 * @param masks  low-res logits [B, h, w, M]
 * @returns      [B, H, W, M] logits at the original size
 */
export function postprocessMasks(masks: tf.Tensor4D, imageSize: number, inputSize: SizeHW, originalSize: SizeHW): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, , , m] = masks.shape;
    const full = postprocessUpscale(masks, imageSize);
    const cropped = tf.slice(full, [0, 0, 0, 0], [b, inputSize[0], inputSize[1], m]);
    return tf.image.resizeBilinear(cropped, originalSize, false, true);
  });
}

/** Step 1 of postprocessMasks alone (the reference's `masks_at_img_size`): [B, imageSize, imageSize, M]. */
export function postprocessUpscale(masks: tf.Tensor4D, imageSize: number): tf.Tensor4D {
  return tf.image.resizeBilinear(masks, [imageSize, imageSize], false, true);
}
