/**
 * Training data for one concept: N images of the subject with their masks (paper: 4; 2–8 accepted; 1 is
 * degenerate and warned about; 0 refused), brought to the model resolution, plus what the method derives:
 *   - the background-filtered images  x·m + blank·(1 − m)            (joint training, §3.3)
 *   - the masks at the cross-attention resolution                     (L_CA targets, eq. 4)
 *   - the masks at the latent resolution                              (masked-diffusion-loss option)
 * Images are NHWC RGB in [0, 1]; masks are 1 on the subject.
 */
import * as tf from '@tensorflow/tfjs-core';
import { HostTensor, asFloat32 } from '../io/host-tensor';

export interface TrainingItem {
  /** [H, W, 3] RGB, float in [0, 1] (or uint8 0..255) */
  image: HostTensor;
  /** [H, W] or [H, W, 1], 1 = subject; float in [0, 1] or uint8 0..255 */
  mask: HostTensor;
}

export interface DataOptions {
  /** square side of the model input */
  resolution: number;
  /** [h, w] of the latent (resolution / VAE factor) */
  latentSize: [number, number];
  /** [h, w] of the cross-attention maps used by L_CA */
  caSize: [number, number];
  blank: [number, number, number];
  warn?: (msg: string) => void;
}

export interface TrainingData {
  n: number;
  images: tf.Tensor4D; //        [N, R, R, 3]
  filtered: tf.Tensor4D; //      [N, R, R, 3]
  masks: tf.Tensor4D; //         [N, R, R, 1]
  masksLatent: tf.Tensor4D; //   [N, h, w, 1]
  masksCA: tf.Tensor3D; //       [N, hc, wc]
  dispose(): void;
}

export const MAX_IMAGES = 8;

export function checkImageCount(n: number, warn: (m: string) => void): void {
  if (n === 0) throw new Error('DETEX data: no training images given (the method needs 2–8 images of the subject; the paper uses 4)');
  if (n === 1) warn('DETEX data: a single training image is degenerate: pose and background cannot be told apart from the subject (use 2–8)');
  if (n > MAX_IMAGES) throw new Error(`DETEX data: ${n} images given; at most ${MAX_IMAGES} are supported (each gets its own [P_i]/[B_i])`);
}

function imageToTf(h: HostTensor, what: string): tf.Tensor3D {
  const [H, W, C] = h.shape;
  if (h.shape.length !== 3 || (C !== 3 && C !== 4)) throw new Error(`DETEX data: ${what} must be [H, W, 3] RGB, got [${h.shape}]`);
  return tf.tidy(() => {
    let t = tf.tensor3d(asFloat32(h), [H, W, C]);
    if (C === 4) t = tf.slice(t, [0, 0, 0], [H, W, 3]);
    return h.dtype === 'uint8' ? tf.div(t, 255) : t;
  });
}

function maskToTf(h: HostTensor, what: string): tf.Tensor3D {
  const [H, W] = h.shape;
  const ok = h.shape.length === 2 || (h.shape.length === 3 && h.shape[2] === 1);
  if (!ok) throw new Error(`DETEX data: ${what} must be [H, W] or [H, W, 1], got [${h.shape}]`);
  return tf.tidy(() => {
    const t = tf.tensor3d(asFloat32(h), [H, W, 1]);
    return h.dtype === 'uint8' ? tf.div(t, 255) : t;
  });
}

/** Centre crop to a square, then bilinear resize to size×size. [H, W, C] → [size, size, C]. */
export function centerCropResize(x: tf.Tensor3D, size: number): tf.Tensor3D {
  return tf.tidy(() => {
    const [h, w] = x.shape;
    const s = Math.min(h, w);
    const crop = tf.slice(x, [Math.floor((h - s) / 2), Math.floor((w - s) / 2), 0], [s, s, -1]);
    return s === size ? crop : tf.image.resizeBilinear(crop, [size, size], false, true);
  });
}

/**
 * Downsamples masks [N, R, R, 1] to [N, h, w, 1] by area averaging when R is a multiple of h and w (the
 * fraction of subject pixels under each map cell: a soft target), else bilinearly.
 */
export function resizeMask(masks: tf.Tensor4D, size: [number, number]): tf.Tensor4D {
  return tf.tidy(() => {
    const [, H, W] = masks.shape;
    const [h, w] = size;
    if (H === h && W === w) return masks.clone();
    if (H % h === 0 && W % w === 0) return tf.avgPool(masks, [H / h, W / w], [H / h, W / w], 'valid');
    return tf.image.resizeBilinear(masks, [h, w], false, true);
  });
}

/** x·m + blank·(1 − m), the background-filtered image. */
export function filterBackground(images: tf.Tensor4D, masks: tf.Tensor4D, blank: readonly number[]): tf.Tensor4D {
  return tf.tidy(() => tf.add(tf.mul(images, masks), tf.mul(tf.tensor1d(blank.slice()), tf.sub(1, masks))) as tf.Tensor4D);
}

/** Horizontal flip of NHWC tensors (W axis). */
export function flipHorizontal<T extends tf.Tensor>(x: T): T {
  return tf.reverse(x, x.rank - 2) as T;
}

export function prepareTrainingData(items: readonly TrainingItem[], opts: DataOptions): TrainingData {
  const warn = opts.warn ?? ((m: string) => console.warn(m));
  checkImageCount(items.length, warn);
  const R = opts.resolution;
  const t = tf.tidy(() => {
    const imgs: tf.Tensor3D[] = [];
    const msks: tf.Tensor3D[] = [];
    items.forEach((it, i) => {
      const img = imageToTf(it.image, `image ${i + 1}`);
      const m = maskToTf(it.mask, `mask ${i + 1}`);
      if (img.shape[0] !== m.shape[0] || img.shape[1] !== m.shape[1]) {
        throw new Error(`DETEX data: mask ${i + 1} is ${m.shape[0]}×${m.shape[1]} but its image is ${img.shape[0]}×${img.shape[1]}`);
      }
      imgs.push(tf.clipByValue(centerCropResize(img, R), 0, 1));
      // Binary at the model resolution: the filtered image must not keep a halo of background.
      msks.push(tf.cast(tf.greaterEqual(centerCropResize(m, R), 0.5), 'float32') as tf.Tensor3D);
    });
    const images = tf.stack(imgs) as tf.Tensor4D;
    const masks = tf.stack(msks) as tf.Tensor4D;
    const area = tf.mean(masks, [1, 2, 3]).arraySync() as number[];
    area.forEach((a, i) => {
      if (a === 0) warn(`DETEX data: mask ${i + 1} is empty after cropping: [P_${i + 1}] has no subject to attend to`);
      if (a === 1) warn(`DETEX data: mask ${i + 1} covers the whole image: [B_${i + 1}] has no background`);
    });
    const filtered = filterBackground(images, masks, opts.blank);
    const masksLatent = resizeMask(masks, opts.latentSize);
    const masksCA = tf.squeeze(resizeMask(masks, opts.caSize), [3]) as tf.Tensor3D;
    return { images, filtered, masks, masksLatent, masksCA };
  });
  return {
    n: items.length,
    ...t,
    dispose() {
      for (const x of [t.images, t.filtered, t.masks, t.masksLatent, t.masksCA]) x.dispose();
    },
  };
}
