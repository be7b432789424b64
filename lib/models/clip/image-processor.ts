/**
 * CLIPImageProcessor (transformers v4.26, the openai CLIP settings SD/DETEX use), on Node:
 *  1. decode (sharp) and convert to RGB by DROPPING alpha (PIL `convert("RGB")`; no compositing),
 *  2. resize the shortest edge to `size.shortest_edge` with PIL BICUBIC (pil-bicubic.ts); the long edge is
 *     int(size·long/short), truncated,
 *  3. center crop (top = (h − ch)//2, left = (w − cw)//2; zero-padded first if the image is smaller),
 *  4. rescale: uint8 · rescale_factor in float64, cast to float32,
 *  5. normalize in float32: (x − mean)/std,
 *  6. output NCHW host data (the reference layout) or an NHWC tensor for the vision model.
 */
import * as fs from 'fs';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import { HostTensor, hostTensor } from '../../io/host-tensor';
import { resolveConfig } from '../../io/diffusers-folder';
import { pilBicubicResize } from '../../io/pil-resample';

export interface CLIPImageProcessorConfig {
  do_resize: boolean;
  size: { shortest_edge: number } | number;
  resample: number;
  do_center_crop: boolean;
  crop_size: { height: number; width: number } | number;
  do_rescale: boolean;
  rescale_factor: number;
  do_normalize: boolean;
  image_mean: number[];
  image_std: number[];
  do_convert_rgb: boolean;
}

/** transformers' CLIPImageProcessor defaults (= openai CLIP). */
export const CLIP_IMAGE_DEFAULTS: CLIPImageProcessorConfig = {
  do_resize: true,
  size: { shortest_edge: 224 },
  resample: 3,
  do_center_crop: true,
  crop_size: { height: 224, width: 224 },
  do_rescale: true,
  rescale_factor: 1 / 255,
  do_normalize: true,
  image_mean: [0.48145466, 0.4578275, 0.40821073],
  image_std: [0.26862954, 0.26130258, 0.27577711],
  do_convert_rgb: true,
};

const PIL_BICUBIC = 3;

/** An RGB(A) image as decoded: interleaved HWC uint8. */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

export interface PreprocessResult {
  resized: RawImage;
  cropped: RawImage;
  /** [1, 3, H, W] float32, NCHW as transformers returns it. */
  pixelValues: HostTensor;
}

export class CLIPImageProcessor {
  readonly config: CLIPImageProcessorConfig;

  constructor(config: Partial<CLIPImageProcessorConfig> = {}, warn?: (m: string) => void) {
    const c = resolveConfig(config as Record<string, unknown>, CLIP_IMAGE_DEFAULTS, 'CLIPImageProcessor', (m) => {
      // image_processor_type / feature_extractor_type / processor_class name the class, nothing more
      if (!/: config keys not used and ignored: ((image_processor_type|feature_extractor_type|processor_class|crop_pct)(, )?)+$/.test(m)) (warn ?? console.warn)(m);
    });
    if (c.do_resize && c.resample !== PIL_BICUBIC) throw new Error(`CLIPImageProcessor: resample ${c.resample} is not implemented (only 3 = BICUBIC)`);
    if (c.image_mean.length !== 3 || c.image_std.length !== 3) throw new Error('CLIPImageProcessor: image_mean and image_std need 3 values');
    this.config = c;
  }

  /** From a `preprocessor_config.json` (SD's `feature_extractor/`, a CLIP model folder). */
  static fromFile(file: string, warn?: (m: string) => void): CLIPImageProcessor {
    return new CLIPImageProcessor(JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<CLIPImageProcessorConfig>, warn);
  }

  /** Same settings with another size and crop (e.g. a small model's image_size). */
  withSize(size: number): CLIPImageProcessor {
    return new CLIPImageProcessor({ ...this.config, size: { shortest_edge: size }, crop_size: { height: size, width: size } });
  }

  private get shortestEdge(): number {
    const s = this.config.size;
    return typeof s === 'number' ? s : s.shortest_edge;
  }

  private get crop(): { height: number; width: number } {
    const s = this.config.crop_size;
    return typeof s === 'number' ? { height: s, width: s } : s;
  }

  /** Output height/width of step 2 for an input of h × w. */
  resizedSize(h: number, w: number): { height: number; width: number } {
    const size = this.shortestEdge;
    const short = Math.min(h, w);
    const long = Math.max(h, w);
    const newLong = Math.trunc((size * long) / short);
    return h <= w ? { height: size, width: newLong } : { height: newLong, width: size };
  }

  /** Steps 2–6 on a decoded image (any channel count; alpha is dropped, grey is replicated). */
  preprocess(image: RawImage): PreprocessResult {
    const c = this.config;
    let rgb = c.do_convert_rgb || image.channels !== 3 ? toRGB(image) : image;
    if (c.do_resize) {
      const { height, width } = this.resizedSize(rgb.height, rgb.width);
      rgb = { data: pilBicubicResize(rgb.data, rgb.width, rgb.height, 3, width, height), width, height, channels: 3 };
    }
    const resized = rgb;
    const cropped = c.do_center_crop ? centerCrop(rgb, this.crop.height, this.crop.width) : rgb;
    return { resized, cropped, pixelValues: this.normalize(cropped) };
  }

  /** Steps 4–6 on an RGB uint8 image: NCHW [1, 3, H, W] float32, float32 rounding as numpy does it. */
  normalize(rgb: RawImage): HostTensor {
    const c = this.config;
    const { width: w, height: h } = rgb;
    const out = new Float32Array(3 * h * w);
    const mean = c.image_mean.map(Math.fround);
    const std = c.image_std.map(Math.fround);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let ch = 0; ch < 3; ch++) {
          const u8 = rgb.data[(y * w + x) * 3 + ch];
          let v = c.do_rescale ? Math.fround(u8 * c.rescale_factor) : u8; // float64 product, cast to float32
          if (c.do_normalize) v = Math.fround(Math.fround(v - mean[ch]) / std[ch]);
          out[(ch * h + y) * w + x] = v;
        }
      }
    }
    return hostTensor('float32', [1, 3, h, w], out);
  }

  /** Decodes image files/buffers and preprocesses them into one NHWC batch for the vision model. Caller owns it. */
  async pixelValuesNHWC(images: Array<string | Buffer | RawImage>): Promise<tf.Tensor4D> {
    const batch: HostTensor[] = [];
    for (const img of images) {
      const raw = isRaw(img) ? img : await decodeImage(img);
      batch.push(this.preprocess(raw).pixelValues);
    }
    return nchwBatchToNHWC(batch);
  }
}

function isRaw(x: string | Buffer | RawImage): x is RawImage {
  return typeof x === 'object' && !Buffer.isBuffer(x) && 'data' in x;
}

/** Decodes a PNG/JPEG/WebP file or buffer to interleaved uint8, without colour or alpha processing. */
export async function decodeImage(input: string | Buffer): Promise<RawImage> {
  const { data, info } = await sharp(input).raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: info.channels };
}

/** PIL `convert("RGB")` for 1–4 channel images: alpha dropped, grey replicated. */
export function toRGB(img: RawImage): RawImage {
  const { width: w, height: h, channels: n } = img;
  if (n === 3) return img;
  if (n < 1 || n > 4) throw new Error(`toRGB: ${n} channels not supported`);
  const out = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) {
    for (let c = 0; c < 3; c++) out[i * 3 + c] = img.data[i * n + (n >= 3 ? c : 0)];
  }
  return { data: out, width: w, height: h, channels: 3 };
}

/** transformers' center_crop: zero-pad to at least the crop size (centred), then cut the centre. */
export function centerCrop(img: RawImage, ch: number, cw: number): RawImage {
  const { width: w, height: h, channels: n } = img;
  const ph = Math.max(h, ch);
  const pw = Math.max(w, cw);
  const padTop = Math.floor((ph - h) / 2);
  const padLeft = Math.floor((pw - w) / 2);
  const top = Math.floor((ph - ch) / 2);
  const left = Math.floor((pw - cw) / 2);
  const out = new Uint8Array(ch * cw * n);
  for (let y = 0; y < ch; y++) {
    const sy = y + top - padTop;
    if (sy < 0 || sy >= h) continue;
    for (let x = 0; x < cw; x++) {
      const sx = x + left - padLeft;
      if (sx < 0 || sx >= w) continue;
      for (let c = 0; c < n; c++) out[(y * cw + x) * n + c] = img.data[(sy * w + sx) * n + c];
    }
  }
  return { data: out, width: cw, height: ch, channels: n };
}

/** [1, C, H, W] host tensors → one NHWC [B, H, W, C] tensor. */
export function nchwBatchToNHWC(items: HostTensor[]): tf.Tensor4D {
  return tf.tidy(() => tf.concat(items.map((h) => tf.transpose(tf.tensor4d(h.data as Float32Array, h.shape as [number, number, number, number]), [0, 2, 3, 1]))) as tf.Tensor4D);
}
