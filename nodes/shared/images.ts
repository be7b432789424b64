/**
 * Images in msgs: PNG/JPEG bytes (Buffer), a file name inside a configured folder, or an image
 * tensor msg (uint8 [H, W, 3|4]). Decoded and encoded by lib/io/image (sharp, off the JS thread) into RGB HostTensors.
 */
import * as fs from 'fs';
import { HostTensor } from '../../lib/io/host-tensor';
import { decodeTensorMsgToHost, isTensorMsg } from '../../lib/tensor-msg';
import { DetexImageMetadata } from '../../lib/io/png-metadata';
import { decodeImage, encodePng as encodeImagePng } from '../../lib/io/image';
import { resolveExisting } from './safe-path';

export class ItemError extends Error {
  constructor(readonly key: string, readonly subs: Record<string, unknown>) {
    super(`${key} ${JSON.stringify(subs)}`);
  }
}

export interface DecodedImage {
  rgb: HostTensor; // uint8 [H, W, 3]
  alpha?: HostTensor; // uint8 [H, W] 0/1, when the source had an alpha channel that is not all opaque
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  if (Buffer.isBuffer(x)) return `a Buffer of ${x.length} bytes`;
  return typeof x;
}

const MAX_PIXELS = 4096 * 4096;

async function fromBytes(bytes: Uint8Array, index: number): Promise<DecodedImage> {
  try {
    const d = await decodeImage(bytes, { name: `image ${index}` });
    if (d.width * d.height > MAX_PIXELS) throw new Error(`${d.width}x${d.height} is more than ${MAX_PIXELS} pixels`);
    const out: DecodedImage = { rgb: d.rgb };
    if (d.alpha) {
      const a = Uint8Array.from(d.alpha.data, (v) => (v >= 128 ? 1 : 0));
      if (a.some((v) => v === 0)) out.alpha = { dtype: 'uint8', shape: d.alpha.shape, data: a };
    }
    return out;
  } catch (e) {
    throw new ItemError('common.errors.badImage', { index, error: (e as Error).message });
  }
}

function fromTensor(x: unknown, index: number): DecodedImage {
  let h: HostTensor;
  try {
    h = decodeTensorMsgToHost(x);
  } catch (e) {
    throw new ItemError('common.errors.badImage', { index, error: (e as Error).message });
  }
  const [H, W, C] = h.shape;
  if (h.shape.length !== 3 || (C !== 3 && C !== 4)) {
    throw new ItemError('common.errors.badImage', { index, error: `an image tensor must be [H, W, 3|4], got [${h.shape}]` });
  }
  const n = H * W;
  const rgb = new Uint8Array(n * 3);
  const scale = h.dtype === 'float32' ? 255 : 1;
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) rgb[3 * i + c] = Math.max(0, Math.min(255, Math.round(h.data[C * i + c] * scale)));
  const out: DecodedImage = { rgb: { dtype: 'uint8', shape: [H, W, 3], data: rgb } };
  if (C === 4) {
    const a = new Uint8Array(n);
    for (let i = 0; i < n; i++) a[i] = h.data[4 * i + 3] * scale >= 128 ? 1 : 0;
    out.alpha = { dtype: 'uint8', shape: [H, W], data: a };
  }
  return out;
}

/** One item: Buffer, file name (inside `folder`), or image tensor msg. */
export async function decodeImageItem(x: unknown, index: number, folder: string | undefined): Promise<DecodedImage> {
  if (Buffer.isBuffer(x) || x instanceof Uint8Array) return fromBytes(x, index);
  if (isTensorMsg(x)) return fromTensor(x, index);
  if (typeof x === 'string' && folder) {
    const p = await resolveExisting(folder, x);
    return fromBytes(await fs.promises.readFile(p), index);
  }
  if (typeof x === 'object' && x !== null && 'image' in x) return decodeImageItem((x as { image: unknown }).image, index, folder);
  throw new ItemError('common.errors.imageKind', { index, got: describe(x) });
}

/** A msg property holding one image or an array of them. */
export async function decodeImages(x: unknown, prop: string, folder: string | undefined): Promise<DecodedImage[]> {
  const items = Array.isArray(x) ? x : x === undefined || x === null ? [] : [x];
  if (items.length === 0) throw new ItemError('common.errors.noImages', { prop });
  const out: DecodedImage[] = [];
  for (let i = 0; i < items.length; i++) out.push(await decodeImageItem(items[i], i, folder));
  return out;
}

/** A mask item: a tensor msg [H, W] (or [H, W, 1]) or image bytes (any channel > 127 = subject). */
export async function decodeMaskItem(x: unknown, index: number, folder: string | undefined): Promise<HostTensor> {
  if (isTensorMsg(x)) {
    let h: HostTensor;
    try {
      h = decodeTensorMsgToHost(x);
    } catch (e) {
      throw new ItemError('common.errors.badImage', { index, error: (e as Error).message });
    }
    if (h.shape.length === 3 && h.shape[2] === 1) h = { ...h, shape: h.shape.slice(0, 2) };
    if (h.shape.length !== 2) throw new ItemError('common.errors.badImage', { index, error: `a mask tensor must be [H, W], got [${h.shape}]` });
    const m = new Uint8Array(h.data.length);
    for (let i = 0; i < m.length; i++) m[i] = h.data[i] > 0.5 ? 1 : 0;
    return { dtype: 'uint8', shape: h.shape, data: m };
  }
  const img = await decodeImageItem(x, index, folder);
  if (img.alpha) return img.alpha;
  const [H, W] = img.rgb.shape;
  const m = new Uint8Array(H * W);
  for (let i = 0; i < H * W; i++) m[i] = img.rgb.data[3 * i] > 127 || img.rgb.data[3 * i + 1] > 127 || img.rgb.data[3 * i + 2] > 127 ? 1 : 0;
  return { dtype: 'uint8', shape: [H, W], data: m };
}

/** PNG bytes of an RGB uint8 [H, W, 3] image (or a [H, W] 0/1 mask), with the DETEX recipe if given. */
export async function encodePng(img: HostTensor, meta?: DetexImageMetadata): Promise<Buffer> {
  if (img.shape.length === 2) {
    const [H, W] = img.shape;
    return encodeImagePng({ dtype: 'uint8', shape: [H, W, 1], data: Uint8Array.from(img.data, (v) => (v ? 255 : 0)) }, meta);
  }
  return encodeImagePng(img, meta);
}
