/**
 * Image files ⇄ tensors, with sharp (libvips).
 *
 * - decode: PNG / JPEG / WebP from a path or bytes → `rgb` uint8 [H, W, 3] and, when the file has one,
 *   `alpha` uint8 [H, W] kept apart. The alpha is NOT composited into the colours (CLIP's and DINO's
 *   `convert("RGB")` drop it the same way), and resizing never premultiplies by it.
 * - resize: PIL's antialiased BICUBIC, reproduced exactly in TS (pil-bicubic.ts): sharp's resize is not
 *   pixel-centre aligned when enlarging and its affine blends the background in at the borders.
 * - centre crop with PIL/torchvision's rounding; float tensors NHWC in [0, 1] or [-1, 1];
 * - encode: PNG from a float [0, 1] or uint8 tensor, with the DETEX recipe in text chunks.
 */
import * as fs from 'fs';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import { HostTensor } from './host-tensor';
import { writeFileAtomicAsync } from './atomic-write';
import { pilBicubicResize } from './pil-resample';
import { DetexImageMetadata, embedDetexMetadata, readDetexMetadata } from './png-metadata';

export type ImageFormat = 'png' | 'jpeg' | 'webp';
const SUPPORTED: readonly string[] = ['png', 'jpeg', 'webp'];

export interface DecodedImage {
  /** uint8 [H, W, 3] */
  rgb: HostTensor;
  /** uint8 [H, W], present when the file has an alpha channel */
  alpha?: HostTensor;
  width: number;
  height: number;
  format: ImageFormat;
}

export interface DecodeOptions {
  /** name used in errors when `src` is bytes (default "image data") */
  name?: string;
  /** apply the EXIF orientation of camera JPEGs (default true) */
  autoOrient?: boolean;
}

export class ImageError extends Error {}

function describe(src: string | Uint8Array, name?: string): string {
  return typeof src === 'string' ? src : name ?? 'image data';
}

/** Turns sharp/libvips messages into "<file>: <problem>" with one of our three kinds. */
function explain(source: string, err: unknown): ImageError {
  const m = err instanceof Error ? err.message : String(err);
  if (/unsupported image format/i.test(m)) return new ImageError(`${source}: not an image (or a format sharp cannot read): ${m}`);
  if (/premature end|end of stream|truncat|corrupt|invalid|bad|unexpected end|read error|libspng|crc/i.test(m)) {
    return new ImageError(`${source}: truncated or corrupt image (${m})`);
  }
  return new ImageError(`${source}: cannot decode image (${m})`);
}

/** Reads PNG, JPEG or WebP into separate RGB and alpha planes. */
export async function decodeImage(src: string | Uint8Array, opts: DecodeOptions = {}): Promise<DecodedImage> {
  const source = describe(src, opts.name);
  let bytes: Buffer;
  if (typeof src === 'string') {
    try {
      bytes = await fs.promises.readFile(src);
    } catch (e) {
      throw new ImageError(`${source}: cannot read file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  } else {
    bytes = Buffer.from(src.buffer, src.byteOffset, src.byteLength);
  }
  if (bytes.length === 0) throw new ImageError(`${source}: empty file, not an image`);
  let format: string | undefined;
  let hasAlpha = false;
  try {
    const meta = await sharp(bytes).metadata();
    format = meta.format;
    hasAlpha = meta.hasAlpha === true;
  } catch (e) {
    throw explain(source, e);
  }
  if (!format || !SUPPORTED.includes(format)) {
    throw new ImageError(`${source}: unsupported image type "${format ?? 'unknown'}" (supported: PNG, JPEG, WebP)`);
  }
  try {
    // failOn 'error' (not the default 'warning') would accept truncated files; keep libvips strict.
    let pipeline = sharp(bytes, { failOn: 'warning' });
    if (opts.autoOrient ?? true) pipeline = pipeline.rotate();
    // Grey, palette, 16-bit and CMYK inputs all become 8-bit sRGB (+ alpha when present).
    pipeline = pipeline.toColourspace('srgb');
    if (hasAlpha) pipeline = pipeline.ensureAlpha();
    else pipeline = pipeline.removeAlpha();
    const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    const { width, height, channels } = info;
    if (channels !== (hasAlpha ? 4 : 3)) throw new Error(`decoded to ${channels} channels, expected ${hasAlpha ? 4 : 3}`);
    return { ...splitChannels(data, width, height, channels), width, height, format: format as ImageFormat };
  } catch (e) {
    throw e instanceof ImageError ? e : explain(source, e);
  }
}

function splitChannels(data: Uint8Array, width: number, height: number, channels: number): { rgb: HostTensor; alpha?: HostTensor } {
  const n = width * height;
  if (channels === 3) return { rgb: { dtype: 'uint8', shape: [height, width, 3], data: Uint8Array.from(data) } };
  const rgb = new Uint8Array(n * 3);
  const alpha = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    rgb[3 * i] = data[4 * i];
    rgb[3 * i + 1] = data[4 * i + 1];
    rgb[3 * i + 2] = data[4 * i + 2];
    alpha[i] = data[4 * i + 3];
  }
  return { rgb: { dtype: 'uint8', shape: [height, width, 3], data: rgb }, alpha: { dtype: 'uint8', shape: [height, width], data: alpha } };
}

/** [H, W] or [H, W, C] uint8 → {h, w, c}; throws naming the shape otherwise. */
function planeDims(img: HostTensor, what: string): { h: number; w: number; c: number } {
  if (img.dtype !== 'uint8') throw new ImageError(`${what}: expected a uint8 image, got ${img.dtype}`);
  const [h, w, c = 1] = img.shape;
  if ((img.shape.length !== 2 && img.shape.length !== 3) || !(c === 1 || c === 3)) {
    throw new ImageError(`${what}: expected shape [H, W], [H, W, 1] or [H, W, 3], got [${img.shape}]`);
  }
  return { h, w, c };
}

/**
 * Bicubic resize of a uint8 [H, W, 3] (or [H, W] / [H, W, 1] mask) image to width × height,
 * antialiased when shrinking, bit-identical to PIL's BICUBIC (see pil-bicubic.ts). Channels are
 * resampled independently: nothing is premultiplied by an alpha.
 */
export async function resizeImage(img: HostTensor, width: number, height: number): Promise<HostTensor> {
  const { h, w, c } = planeDims(img, 'resize');
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ImageError(`resize: target size must be positive integers, got ${width}x${height}`);
  }
  const data = pilBicubicResize(img.data as Uint8Array, w, h, c, width, height);
  return { dtype: 'uint8', shape: img.shape.length === 2 ? [height, width] : [height, width, c], data };
}

/** Output size of "resize the shorter edge to `size`" (PIL/torchvision: long edge int(size·long/short)). */
export function shortestEdgeSize(width: number, height: number, size: number): { width: number; height: number } {
  if (width <= height) return { width: size, height: Math.trunc((size * height) / width) };
  return { width: Math.trunc((size * width) / height), height: size };
}

/** Centre crop to width × height with top = (H − h)//2, left = (W − w)//2. Pads nothing: throws if too small. */
export function centerCrop(img: HostTensor, width: number, height: number): HostTensor {
  const { h, w, c } = planeDims(img, 'centerCrop');
  if (width > w || height > h) throw new ImageError(`centerCrop: cannot crop ${width}x${height} out of a ${w}x${h} image`);
  const top = Math.floor((h - height) / 2);
  const left = Math.floor((w - width) / 2);
  const src = img.data as Uint8Array;
  const out = new Uint8Array(width * height * c);
  for (let y = 0; y < height; y++) {
    const from = ((top + y) * w + left) * c;
    out.set(src.subarray(from, from + width * c), y * width * c);
  }
  return { dtype: 'uint8', shape: img.shape.length === 2 ? [height, width] : [height, width, c], data: out };
}

export type PixelRange = '0,1' | '-1,1';

/** uint8 [H, W, C] → float32 [1, H, W, C] in [0, 1] (x/255) or [-1, 1] (x/127.5 − 1). Caller disposes. */
export function imageToTensor(img: HostTensor, range: PixelRange = '0,1'): tf.Tensor4D {
  const { h, w, c } = planeDims(img, 'imageToTensor');
  return tf.tidy(() => {
    const x = tf.div(tf.tensor(Float32Array.from(img.data), [1, h, w, c], 'float32'), 255);
    return (range === '0,1' ? x : tf.sub(tf.mul(x, 2), 1)) as tf.Tensor4D;
  });
}

/**
 * A float image tensor in [0, 1] ([H, W, C] or [1, H, W, C]) or an int/uint8 one in [0, 255] → uint8
 * [H, W, C] host image (floats are clamped, then rounded half up: round(x·255)).
 */
export function tensorToImage(t: tf.Tensor | HostTensor): HostTensor {
  const isTf = t instanceof tf.Tensor;
  const shape = [...t.shape];
  const dtype = isTf ? (t as tf.Tensor).dtype : (t as HostTensor).dtype;
  if (shape.length === 4) {
    if (shape[0] !== 1) throw new ImageError(`tensorToImage: batch of ${shape[0]} images; pass one [1, H, W, C]`);
    shape.shift();
  }
  if (shape.length !== 3 || ![1, 3, 4].includes(shape[2])) {
    throw new ImageError(`tensorToImage: expected [H, W, C] or [1, H, W, C] with C in 1, 3, 4 (NHWC), got [${t.shape}]`);
  }
  const values = isTf ? ((t as tf.Tensor).dataSync() as ArrayLike<number>) : (t as HostTensor).data;
  const out = new Uint8Array(values.length);
  if (dtype === 'float32') {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      out[i] = Number.isNaN(v) ? 0 : Math.floor(Math.min(Math.max(v, 0), 1) * 255 + 0.5);
    }
  } else {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!(v >= 0 && v <= 255)) throw new ImageError(`tensorToImage: integer pixel ${v} at index ${i} is outside 0..255`);
      out[i] = v;
    }
  }
  return { dtype: 'uint8', shape, data: out };
}

/** PNG bytes of an image tensor (see {@link tensorToImage}), with the DETEX recipe when given. */
export async function encodePng(t: tf.Tensor | HostTensor, meta?: DetexImageMetadata): Promise<Buffer> {
  const img = tensorToImage(t);
  const [h, w, c] = img.shape;
  const d = img.data as Uint8Array;
  const png = await sharp(Buffer.from(d.buffer, d.byteOffset, d.byteLength), { raw: { width: w, height: h, channels: c as 1 | 3 | 4 } })
    .png()
    .toBuffer();
  return meta ? embedDetexMetadata(png, meta) : png;
}

/** Encodes and writes a PNG atomically (never a half-written file). */
export async function writePng(path: string, t: tf.Tensor | HostTensor, meta?: DetexImageMetadata): Promise<void> {
  await writeFileAtomicAsync(path, await encodePng(t, meta));
}

/** The DETEX recipe embedded in a PNG file or bytes, or undefined when there is none. */
export async function readImageMetadata(src: string | Uint8Array, name?: string): Promise<DetexImageMetadata | undefined> {
  const source = describe(src, name);
  let bytes: Uint8Array;
  try {
    bytes = typeof src === 'string' ? await fs.promises.readFile(src) : src;
  } catch (e) {
    throw new ImageError(`${source}: cannot read file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return readDetexMetadata(bytes, source);
}
