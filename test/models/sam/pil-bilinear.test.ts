import * as assert from 'assert';
import { resizeBilinearPil } from '../../../lib/io/pil-resample';
import { ResizeLongestSide } from '../../../lib/models/sam/resize-longest-side';
import { SamFixture } from './sam-fixture';

describe('models/sam/pil-bilinear', () => {
  it('should return a copy when the size is unchanged', () => {
    const src = Uint8Array.from([1, 2, 3, 4, 5, 6]);
    const out = resizeBilinearPil(src, 1, 2, 3, 1, 2);
    assert.deepStrictEqual(Array.from(out), Array.from(src));
    assert.notStrictEqual(out, src);
  });

  it('should keep a constant image constant, up and down (fixed-point weights sum to one)', () => {
    const src = new Uint8Array(7 * 5 * 3).fill(201);
    for (const [h, w] of [[3, 2], [13, 11], [7, 9], [2, 5]]) {
      const out = resizeBilinearPil(src, 7, 5, 3, h, w);
      assert.strictEqual(out.length, h * w * 3);
      assert.ok(out.every((v) => v === 201), `constant broken at ${h}×${w}`);
    }
  });

  it('should use PIL\'s taps when halving x=[1,4,1] → [1,2,1]', () => {
    // scale 2 → triangle of support 2. Output 0: centre 1, taps x = trunc(−0.5)…trunc(3.5)−1 = 0…2 with
    // weights tri(−¼), tri(¼), tri(¾) = ¾, ¾, ¼ → 3/7, 3/7, 1/7 (PIL's rounding of the bounds drops a
    // fourth tap). Output 1: centre 3, taps 1…3 with ¼, ¾, ¾.
    const out = resizeBilinearPil(Uint8Array.from([0, 80, 160, 240]), 1, 4, 1, 1, 2);
    assert.deepStrictEqual(Array.from(out), [Math.round((0 * 3 + 80 * 3 + 160) / 7), Math.round((80 + 160 * 3 + 240 * 3) / 7)]);
    assert.deepStrictEqual(Array.from(out), [57, 183]);
  });

  it('should reject a buffer that does not match its size', () => {
    assert.throws(() => resizeBilinearPil(new Uint8Array(5), 2, 2, 1, 1, 1), /do not hold 2x2x1/);
  });

  const fx = SamFixture.open();
  if (!fx) return;
  for (const name of ['preprocess', 'preprocess_other_orientation']) {
    it(`should match PIL 9.4 BILINEAR exactly on ${name} (down and up)`, () => {
      const c = fx.case(name);
      const image = c.get('image_uint8');
      const resized = new ResizeLongestSide(Number(c.kase.args?.target_length)).applyImage(image);
      const expected = c.get('resized_uint8');
      assert.deepStrictEqual(resized.shape, expected.shape);
      let diff = 0;
      for (let i = 0; i < expected.data.length; i++) if (resized.data[i] !== expected.data[i]) diff++;
      assert.strictEqual(diff, 0, `${diff} pixels differ from PIL`);
    });
  }
});
