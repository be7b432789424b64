import * as assert from 'assert';
import * as path from 'path';
import { SafetensorsReader } from '../../../lib/io/safetensors';
import { HostTensor } from '../../../lib/io/host-tensor';
import { CLIPImageProcessor, RawImage, decodeImage } from '../../../lib/models/clip/image-processor';
import { pilBicubicResize as resizeBicubicPIL } from '../../../lib/io/pil-resample';
import { fixture } from '../../helpers/fixtures';

const CASES = ['preprocess_square_rgb_256x256', 'preprocess_landscape_rgb_320x200', 'preprocess_portrait_rgba_150x180'];

function raw(h: HostTensor): RawImage {
  const [height, width, channels] = h.shape;
  return { data: Uint8Array.from(h.data), width, height, channels };
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.strictEqual(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('models/clip/image-processor (clip-vision-tiny preprocess goldens)', function () {
  const dir = fixture('clip-vision-tiny');
  if (!dir) return;
  const proc = CLIPImageProcessor.fromFile(path.join(dir, 'preprocessor', 'preprocessor_config.json'));

  for (const name of CASES) {
    describe(name, () => {
      let r: SafetensorsReader;
      before(() => (r = SafetensorsReader.open(path.join(dir, 'cases', `${name}.safetensors`))));
      after(() => r.close());

      it('should decode the PNG to the same uint8 pixels (alpha kept for the RGBA one)', async () => {
        const png = name.replace('preprocess_', '') + '.png';
        const img = await decodeImage(path.join(dir, 'images', png));
        const expected = r.read('image_uint8');
        assert.deepStrictEqual([img.height, img.width, img.channels], expected.shape);
        assert.strictEqual(maxAbs(img.data, expected.data), 0);
      });

      it('should resize with PIL bicubic exactly, crop exactly, and normalize within 5e-6', () => {
        const out = proc.preprocess(raw(r.read('image_uint8')));
        const resized = r.read('resized_uint8');
        assert.deepStrictEqual([out.resized.height, out.resized.width, 3], resized.shape);
        assert.strictEqual(maxAbs(out.resized.data, resized.data), 0, 'resized_uint8');
        assert.strictEqual(maxAbs(out.cropped.data, r.read('cropped_uint8').data), 0, 'cropped_uint8');
        const pv = r.read('pixel_values');
        assert.deepStrictEqual(out.pixelValues.shape, pv.shape);
        assert.ok(maxAbs(out.pixelValues.data, pv.data) <= 5e-6);
      });

      it('should normalize cropped_uint8 within 5e-6 (exact path)', () => {
        const pv = proc.normalize(raw(r.read('cropped_uint8')));
        assert.ok(maxAbs(pv.data, r.read('pixel_values').data) <= 5e-6);
      });
    });
  }

  it('should leave a same-size resize unchanged and reject bad buffers', () => {
    const img = Uint8Array.from({ length: 4 * 3 * 3 }, (_, i) => (i * 37) % 256);
    assert.deepStrictEqual(resizeBicubicPIL(img, 4, 3, 3, 4, 3), img);
    assert.throws(() => resizeBicubicPIL(img, 5, 3, 3, 4, 3), /do not hold 5x3x3/);
  });

  it('should compute the long edge by truncation (320×200 → 358×224, 150×180 → 224×268)', () => {
    assert.deepStrictEqual(proc.resizedSize(200, 320), { height: 224, width: 358 });
    assert.deepStrictEqual(proc.resizedSize(180, 150), { height: 268, width: 224 });
  });
});
