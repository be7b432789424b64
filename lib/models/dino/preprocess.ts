/**
 * Image preprocessing for the DINO-I metric (DreamBooth / DETEX evaluation): the torchvision ImageNet
 * eval transform `Resize(256, BICUBIC) → CenterCrop(224) → ToTensor → Normalize(mean, std)`, NHWC.
 */
import * as tf from '@tensorflow/tfjs-core';
import { HostTensor } from '../../io/host-tensor';
import { centerCrop, resizeImage, shortestEdgeSize } from '../../io/image';

export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

export interface DinoPreprocessOptions {
  /** shorter edge after resizing (default 256) */
  resize?: number;
  /** centre crop side (default 224) */
  crop?: number;
}

/** The crop (uint8 [crop, crop, 3]) before normalisation: resize the shorter edge, then centre crop. */
export async function dinoResizeAndCrop(rgb: HostTensor, opts: DinoPreprocessOptions = {}): Promise<HostTensor> {
  const resize = opts.resize ?? 256;
  const crop = opts.crop ?? 224;
  if (crop > resize) throw new Error(`DINO preprocess: crop ${crop} is larger than the resized shorter edge ${resize}`);
  if (rgb.shape.length !== 3 || rgb.shape[2] !== 3) throw new Error(`DINO preprocess: expected uint8 [H, W, 3], got [${rgb.shape}]`);
  const [h, w] = rgb.shape;
  const size = shortestEdgeSize(w, h, resize);
  return centerCrop(await resizeImage(rgb, size.width, size.height), crop, crop);
}

/** uint8 [H, W, 3] → ImageNet-normalised float32 [1, H, W, 3]: (x/255 − mean)/std. Caller disposes. */
export function imagenetNormalize(rgb: HostTensor): tf.Tensor4D {
  const [h, w, c] = rgb.shape;
  if (rgb.dtype !== 'uint8' || rgb.shape.length !== 3 || c !== 3) throw new Error(`imagenetNormalize: expected uint8 [H, W, 3], got ${rgb.dtype} [${rgb.shape}]`);
  return tf.tidy(() => {
    const x = tf.div(tf.tensor4d(Float32Array.from(rgb.data), [1, h, w, 3]), 255);
    return tf.div(tf.sub(x, tf.tensor1d([...IMAGENET_MEAN])), tf.tensor1d([...IMAGENET_STD])) as tf.Tensor4D;
  });
}

/** Resize 256 + centre crop 224 + ImageNet normalisation: the model input for DINO-I. Caller disposes. */
export async function dinoPreprocess(rgb: HostTensor, opts: DinoPreprocessOptions = {}): Promise<tf.Tensor4D> {
  return imagenetNormalize(await dinoResizeAndCrop(rgb, opts));
}
