import { strict as assert } from 'assert';
import { Rng } from '../../lib/random';
import { PATTERNS, patternSet, patternSetScenes, parseSceneFilter, splitOf, parseSubjectId } from '../../lib/world';
import { worldBatch } from '../../lib/pretrain/world-data';

/** Pixels (of H×W) where two uint8 RGB images differ. */
function differingPixels(a: Uint8Array, b: Uint8Array, mask?: Uint8Array): { inside: number; outside: number } {
  let inside = 0;
  let outside = 0;
  for (let p = 0; p < a.length / 3; p++) {
    const differs = a[3 * p] !== b[3 * p] || a[3 * p + 1] !== b[3 * p + 1] || a[3 * p + 2] !== b[3 * p + 2];
    if (!differs) continue;
    if (mask && mask[p]) inside++;
    else outside++;
  }
  return { inside, outside };
}

describe('world pattern sets (one scene under every pattern)', () => {
  it('renders one scene under each pattern: same subject, pose, background and texture; only the subject surface differs', () => {
    let checked = 0;
    for (let seed = 0; seed < 12; seed++) {
      const set = patternSetScenes(new Rng(seed), { size: 48 });
      assert.equal(set.length, PATTERNS.length);
      const [plain, ...patterned] = set;
      // a fill replaced a variant the split forbids; sets without one are compared in full
      if (!set.every((s, i) => s.attributes.pattern === PATTERNS[i] && s.attributes.class === plain.attributes.class &&
        s.attributes.colour === plain.attributes.colour)) continue;
      checked++;
      assert.equal(plain.attributes.secondary, 'none');
      assert.equal(new Set(patterned.map((s) => s.attributes.secondary)).size, 1, 'the patterned three share one pattern colour');
      assert.notEqual(patterned[0].attributes.secondary, plain.attributes.colour);
      for (const s of patterned) {
        assert.deepEqual({ ...s.attributes, pattern: '', secondary: '' }, { ...plain.attributes, pattern: '', secondary: '' });
        assert.deepEqual(s.mask.data, plain.mask.data, 'a pattern does not change the outline');
        const d = differingPixels(plain.image.data as Uint8Array, s.image.data as Uint8Array, plain.mask.data as Uint8Array);
        assert.equal(d.outside, 0, `${s.subjectId}: the background must be the plain scene's`);
        assert.ok(d.inside > 0, `${s.subjectId}: the pattern must show`);
        assert.equal(s.caption.replace(/ (striped|dotted|checked)/, ''), plain.caption);
      }
    }
    assert.ok(checked >= 6, `most sets are whole (${checked} of 12)`);
  });

  it('never shows what pretraining must not see: a forbidden variant is replaced by another train scene', () => {
    // every orange-striped ball shares class + colour + pattern with the held-out ball
    const only = parseSceneFilter('class=ball,colour=orange');
    for (let seed = 0; seed < 4; seed++) {
      const set = patternSetScenes(new Rng(seed), { size: 32, only });
      assert.equal(set.length, 4);
      for (const s of set) {
        assert.equal(splitOf(parseSubjectId(s.subjectId)), 'train', s.subjectId);
        assert.equal(s.attributes.class, 'ball');
      }
      assert.notEqual(set[1].attributes.pattern, 'stripes');
    }
    // the held-out split's sets hold held-out subjects only
    for (const s of patternSetScenes(new Rng(5), { size: 32, split: 'heldout' })) assert.equal(splitOf(parseSubjectId(s.subjectId)), 'heldout');
  });

  it('says where each pattern shows: on the subject only, the plain scene marked where any sibling differs, nothing for a fill', () => {
    let whole = 0;
    let filled = 0;
    for (let seed = 0; seed < 16; seed++) {
      const { scenes, regions } = patternSet(new Rng(seed), { size: 48 });
      assert.deepEqual(patternSetScenes(new Rng(seed), { size: 48 }).map((s) => s.caption), scenes.map((s) => s.caption));
      const plain = scenes[0];
      scenes.forEach((s, i) => {
        const fill = s.attributes.pattern !== PATTERNS[i] || s.attributes.class !== plain.attributes.class;
        const marked = regions[i].reduce((a, v) => a + v, 0);
        if (fill) {
          filled++;
          assert.equal(marked, 0, `a fill (${s.subjectId}) has no pattern region`);
          return;
        }
        if (i === 0) return;
        const d = differingPixels(plain.image.data as Uint8Array, s.image.data as Uint8Array);
        assert.equal(marked, d.outside, `${s.subjectId}: the region is where it differs from plain`);
        for (let p = 0; p < regions[i].length; p++) if (regions[i][p]) assert.equal(s.mask.data[p], 1, 'on the subject');
        // the region is a part of the subject, not all of it: the body colour stays the majority
        const area = (s.mask.data as Uint8Array).reduce((a, v) => a + v, 0);
        assert.ok(marked > 0 && marked < area, `${s.subjectId}: ${marked} of ${area}`);
        whole++;
      });
      if (scenes.slice(1).every((s, i) => s.attributes.pattern === PATTERNS[i + 1])) {
        for (let p = 0; p < regions[0].length; p++) assert.equal(regions[0][p], regions[1][p] | regions[2][p] | regions[3][p]);
      }
    }
    assert.ok(whole > 20 && filled > 0, `${whole} patterned variants checked, ${filled} fills`);
  });

  it('lays batches out as consecutive sets, and refuses a batch that is not a whole number of sets', () => {
    const b = worldBatch(new Rng(2), { batch: 8, size: 32, patternSets: true });
    assert.equal(b.captions.length, 8);
    const again = worldBatch(new Rng(2), { batch: 8, size: 32, patternSets: true });
    assert.deepEqual(again.captions, b.captions, 'seeded');
    const wholeSets = [0, 4].filter((k) => b.scenes.slice(k, k + 4).every((s, i) => s.attributes.pattern === PATTERNS[i]));
    assert.ok(wholeSets.length > 0);
    assert.deepEqual(b.patternRegions?.shape, [8, 32, 32, 1]);
    const k = wholeSets[0];
    const region = (i: number) => Array.from(b.patternRegions!.data.slice(i * 1024, (i + 1) * 1024));
    assert.ok(region(k + 1).some((v) => v === 1) && region(k + 1).every((v) => v === 0 || v === 1));
    assert.equal(worldBatch(new Rng(2), { batch: 8, size: 32 }).patternRegions, undefined, 'only sets carry regions');
    assert.throws(() => worldBatch(new Rng(2), { batch: 6, size: 32, patternSets: true }), /multiple of 4, got 6/);
  });
});
