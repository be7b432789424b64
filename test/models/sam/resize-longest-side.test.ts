import * as assert from 'assert';
import { HostTensor } from '../../../lib/io/host-tensor';
import { ResizeLongestSide, getPreprocessShape } from '../../../lib/models/sam/resize-longest-side';
import { SamFixture, assertMatches } from './sam-fixture';

describe('models/sam/resize-longest-side', () => {
  it('should round the short side half up: 150×200→96×128, 90×60→128×85, 1000×667→1024×683', () => {
    assert.deepStrictEqual(getPreprocessShape(150, 200, 128), [96, 128]);
    assert.deepStrictEqual(getPreprocessShape(90, 60, 128), [128, 85]);
    assert.deepStrictEqual(getPreprocessShape(1000, 667, 1024), [1024, 683]);
    assert.deepStrictEqual(getPreprocessShape(1080, 1920, 1024), [576, 1024]);
  });

  it('should scale x and y by their own rounded factors', () => {
    const t = new ResizeLongestSide(1024);
    const [x, y] = t.applyCoords([667, 1000], [1000, 667]);
    assert.ok(Math.abs(x - 683) < 1e-4 && Math.abs(y - 1024) < 1e-4, `${x}, ${y}`);
  });

  it('should reject odd-length coordinate lists', () => {
    assert.throws(() => new ResizeLongestSide(128).applyCoords([1, 2, 3], [10, 10]), /not \(x, y\) pairs/);
  });

  const fx = SamFixture.open();
  if (!fx) return;
  it('should match apply_coords / apply_boxes for every set of resize_longest_side_coords', () => {
    const c = fx.case('resize_longest_side_coords');
    const sets = c.kase.args!.sets as Array<{ index: number; original_size_hw: [number, number]; target_length: number }>;
    for (const s of sets) {
      const t = new ResizeLongestSide(s.target_length);
      for (const kind of ['coords', 'boxes'] as const) {
        const input = c.get(`${kind}_${s.index}`);
        const data = kind === 'coords' ? t.applyCoords(input.data as Float32Array, s.original_size_hw) : t.applyBoxes(input.data as Float32Array, s.original_size_hw);
        const actual: HostTensor = { dtype: 'float32', shape: input.shape, data };
        const name = `${kind}_${s.index}_transformed`;
        assertMatches(name, actual, c.get(name), c.kase.expected![name]);
      }
    }
  });
});
