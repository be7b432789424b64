import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import { fixture } from '../helpers/fixtures';
import { readSafetensors } from '../../lib/io/safetensors';
import { HostTensor } from '../../lib/io/host-tensor';
import {
  centerCrop, decodeImage, encodePng, imageToTensor, readImageMetadata, resizeImage, shortestEdgeSize, tensorToImage, writePng,
} from '../../lib/io/image';
import { removeTempDir, tempDir } from '../helpers/temp-dir';

function meanMaxDiff(a: HostTensor, b: HostTensor): { mean: number; max: number } {
  assert.deepEqual(a.shape, b.shape);
  let s = 0;
  let m = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs(a.data[i] - b.data[i]);
    s += d;
    m = Math.max(m, d);
  }
  return { mean: s / a.data.length, max: m };
}

describe('io/image', () => {
  let dir: string;
  before(() => { dir = tempDir('detex-image-'); });
  after(() => { removeTempDir(dir); });

  describe('against PIL (clip-vision-tiny preprocess goldens)', function () {
    const fx = fixture('clip-vision-tiny');
    if (!fx) return;
    const manifest = JSON.parse(fs.readFileSync(path.join(fx, 'manifest.json'), 'utf8'));
    for (const kase of manifest.cases.filter((c: { name: string }) => c.name.startsWith('preprocess_'))) {
      it(`${kase.name}: decode, resize shortest edge 224 and crop, all exactly as PIL`, async () => {
        const { tensors } = readSafetensors(path.join(fx, kase.file));
        const img = await decodeImage(path.join(fx, kase.args.png));
        const raw = tensors.get('image_uint8')!;
        const [h, w, ch] = raw.shape;
        assert.deepEqual([img.height, img.width], [h, w]);
        // Decoded planes equal PIL's decode bit for bit (alpha split off, colours under it untouched).
        for (let i = 0; i < h * w; i++) {
          for (let c = 0; c < 3; c++) assert.equal(img.rgb.data[3 * i + c], raw.data[ch * i + c], `rgb at pixel ${i}`);
          if (ch === 4) assert.equal(img.alpha!.data[i], raw.data[4 * i + 3], `alpha at pixel ${i}`);
        }
        assert.equal(img.alpha !== undefined, ch === 4);

        const size = shortestEdgeSize(w, h, 224);
        assert.deepEqual([size.height, size.width], kase.args.resized_hw);
        const resized = await resizeImage(img.rgb, size.width, size.height);
        const d = meanMaxDiff(resized, tensors.get('resized_uint8')!);
        console.log(`      resize vs PIL: mean ${d.mean.toFixed(3)} max ${d.max} levels`);
        assert.equal(d.max, 0, 'bit-identical to PIL BICUBIC');

        // Cropping PIL's own resize must give PIL's crop exactly.
        const crop = centerCrop(tensors.get('resized_uint8')!, 224, 224);
        assert.deepEqual(crop.data, tensors.get('cropped_uint8')!.data);
      });
    }
  });

  it('should resize a mask [H,W] and mixed shrink/grow sizes to the exact shape', async () => {
    const mask: HostTensor = { dtype: 'uint8', shape: [10, 20], data: new Uint8Array(200).fill(255) };
    const r = await resizeImage(mask, 7, 13);
    assert.deepEqual(r.shape, [13, 7]);
    assert.ok([...r.data].every((v) => v === 255), 'a constant image stays constant');
    const rgb: HostTensor = { dtype: 'uint8', shape: [4, 6, 3], data: new Uint8Array(72).fill(9) };
    assert.deepEqual((await resizeImage(rgb, 12, 8)).shape, [8, 12, 3]);
  });

  it('should give float NHWC tensors in [0,1] and [-1,1] without leaks', () => {
    const before = tf.memory().numTensors;
    const img: HostTensor = { dtype: 'uint8', shape: [1, 2, 3], data: Uint8Array.from([0, 255, 51, 102, 127, 255]) };
    const a = imageToTensor(img, '0,1');
    const b = imageToTensor(img, '-1,1');
    assert.deepEqual(a.shape, [1, 1, 2, 3]);
    assert.ok(Math.abs(a.dataSync()[2] - 0.2) < 1e-7);
    assert.deepEqual([b.dataSync()[0], b.dataSync()[1]], [-1, 1]);
    tf.dispose([a, b]);
    assert.equal(tf.memory().numTensors, before);
  });

  it('should write a PNG from a float [1,H,W,3] tensor with its recipe, and read both back', async () => {
    const t = tf.tensor4d([0, 0.5, 1, 1.2, -0.1, 0.25], [1, 1, 2, 3]);
    const p = path.join(dir, 'out.png');
    await writePng(p, t, { prompt: 'a <new1> dog', seed: 42, steps: 50, guidance: 6 });
    t.dispose();
    const back = await decodeImage(p);
    assert.deepEqual([...back.rgb.data], [0, 128, 255, 255, 0, 64]);
    assert.deepEqual(await readImageMetadata(p), { prompt: 'a <new1> dog', seed: 42, steps: 50, guidance: 6 });
    // uint8 input encodes unchanged; RGBA keeps its alpha as a separate plane on decode.
    const rgba: HostTensor = { dtype: 'uint8', shape: [1, 1, 4], data: Uint8Array.from([1, 2, 3, 4]) };
    const dec = await decodeImage(await encodePng(rgba), { name: 'mem.png' });
    assert.deepEqual([...dec.rgb.data, ...dec.alpha!.data], [1, 2, 3, 4]);
  });

  it('should decode JPEG and WebP, and reject other formats naming the file', async () => {
    const raw = { raw: { width: 4, height: 4, channels: 3 as const } };
    const px = Buffer.alloc(48, 100);
    for (const fmt of ['jpeg', 'webp'] as const) {
      const bytes = await sharp(px, raw).toFormat(fmt).toBuffer();
      const img = await decodeImage(bytes);
      assert.equal(img.format, fmt);
      assert.deepEqual(img.rgb.shape, [4, 4, 3]);
    }
    const gif = path.join(dir, 'x.gif');
    fs.writeFileSync(gif, await sharp(px, raw).gif().toBuffer());
    await assert.rejects(decodeImage(gif), new RegExp(`${gif.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: unsupported image type "gif"`));
  });

  it('should name the file and the problem: missing, not an image, truncated, corrupt', async () => {
    await assert.rejects(decodeImage(path.join(dir, 'nope.png')), /nope.png: cannot read file \(ENOENT\)/);
    const txt = path.join(dir, 'notes.png');
    fs.writeFileSync(txt, 'hello, not an image');
    await assert.rejects(decodeImage(txt), /notes.png: not an image/);
    const png = await sharp(Buffer.alloc(64 * 64 * 3, 7), { raw: { width: 64, height: 64, channels: 3 } }).png({ compressionLevel: 0 }).toBuffer();
    await assert.rejects(decodeImage(png.subarray(0, png.length - 200), { name: 'cut.png' }), /cut.png: truncated or corrupt/);
    const jpg = await sharp(Buffer.alloc(64 * 64 * 3, 7), { raw: { width: 64, height: 64, channels: 3 } }).jpeg().toBuffer();
    await assert.rejects(decodeImage(jpg.subarray(0, jpg.length - 100), { name: 'cut.jpg' }), /cut.jpg: truncated or corrupt/);
    await assert.rejects(decodeImage(new Uint8Array(0), { name: 'empty.png' }), /empty.png: empty file/);
  });

  it('should reject bad tensors and sizes with the shape in the message', async () => {
    assert.throws(() => tensorToImage({ dtype: 'float32', shape: [2, 1, 1, 3], data: new Float32Array(6) }), /batch of 2/);
    assert.throws(() => tensorToImage({ dtype: 'float32', shape: [3, 4, 5], data: new Float32Array(60) }), /got \[3,4,5\]/);
    assert.throws(() => tensorToImage({ dtype: 'int32', shape: [1, 1, 1], data: Int32Array.from([300]) }), /300 at index 0 is outside 0..255/);
    assert.throws(() => centerCrop({ dtype: 'uint8', shape: [4, 4, 3], data: new Uint8Array(48) }, 5, 4), /cannot crop 5x4 out of a 4x4/);
    await assert.rejects(resizeImage({ dtype: 'uint8', shape: [4, 4, 3], data: new Uint8Array(48) }, 0, 4), /positive integers/);
  });
});
