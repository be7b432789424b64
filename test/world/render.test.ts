import { strict as assert } from 'assert';
import { Rng } from '../../lib/random';
import {
  BACKGROUNDS, BACKGROUND_WORDS, CLASSES, CLASS_DEFS, PATTERNS, PATTERN_WORDS, SceneSpec, parseSubjectId, randomScene,
  renderBackground, renderScene, subjectPhotos,
} from '../../lib/world';

function bytesEqual(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const centred = (view: string) => ({ rotation: 12, scale: 0.3, x: 0.5, y: 0.5, aspect: 1, view });

describe('world/render', () => {
  const spec: SceneSpec = {
    subject: parseSubjectId('ball-red-stripes-white-seam'),
    pose: { rotation: 25, scale: 0.3, x: 0.45, y: 0.55, aspect: 1.1, view: 'front' },
    background: 'grass',
  };

  it('same spec and seed → identical bytes; another seed → another image, same mask', () => {
    const a = renderScene(spec, { seed: 3 });
    const b = renderScene(spec, { seed: 3 });
    const c = renderScene(spec, { seed: 4 });
    assert.ok(bytesEqual(a.image.data, b.image.data));
    assert.ok(bytesEqual(a.mask.data, b.mask.data));
    assert.ok(!bytesEqual(a.image.data, c.image.data), 'a different seed must give a different background');
    assert.ok(bytesEqual(a.mask.data, c.mask.data), 'the seed drives the background only');
  });

  it('randomScene and subjectPhotos are reproducible from their seeds', () => {
    const a = randomScene(new Rng(11));
    const b = randomScene(new Rng(11));
    const c = randomScene(new Rng(12));
    assert.ok(bytesEqual(a.image.data, b.image.data));
    assert.equal(a.caption, b.caption);
    assert.ok(!bytesEqual(a.image.data, c.image.data));
    const p = subjectPhotos('cup-blue-dots-white-loop', 4, 9);
    const q = subjectPhotos('cup-blue-dots-white-loop', 4, 9);
    p.forEach((s, i) => assert.ok(bytesEqual(s.image.data, q[i].image.data)));
  });

  it('shapes: image uint8 [H,W,3] and mask uint8 [H,W] at sizes 32, 64, 100, 256', () => {
    for (const size of [32, 64, 100, 256]) {
      const s = renderScene(spec, { size, seed: 1 });
      assert.deepEqual(s.image.shape, [size, size, 3]);
      assert.equal(s.image.dtype, 'uint8');
      assert.deepEqual(s.mask.shape, [size, size]);
      assert.ok(s.area > size * size * 0.05, `size ${size}: area ${s.area}`);
    }
  });

  it('every class × pattern × background, and every view and detail, renders a non-empty mask inside the image', () => {
    for (const cls of CLASSES) {
      const def = CLASS_DEFS[cls];
      for (const pattern of PATTERNS) {
        for (const background of BACKGROUNDS) {
          for (const view of def.views) {
            for (const detail of def.details) {
              const subject = { cls, colour: 'green' as const, pattern, secondary: pattern === 'plain' ? ('none' as const) : ('white' as const), detail };
              const s = renderScene({ subject, pose: centred(view), background }, { size: 32, seed: 5 });
              const what = `${s.subjectId} ${view} on ${background}`;
              assert.ok(s.area > 32 * 32 * 0.04, `${what}: area ${s.area}`);
              // a centred subject does not touch the border
              const [x0, y0, x1, y1] = s.box;
              assert.ok(x0 > 0 && y0 > 0 && x1 < 32 && y1 < 32, `${what}: box ${s.box}`);
            }
          }
        }
      }
    }
  });

  it('masks are exact: outside the mask the pixels are byte-for-byte the background render', () => {
    const rng = new Rng(21);
    for (let k = 0; k < 40; k++) {
      const s = randomScene(rng, { size: 48 });
      const bg = renderBackground(s.spec.background, 48, new Rng(s.seed).fork('background'));
      const img = s.image.data;
      const m = s.mask.data;
      let inside = 0;
      let changed = 0;
      for (let p = 0; p < 48 * 48; p++) {
        const same = img[3 * p] === bg[3 * p] && img[3 * p + 1] === bg[3 * p + 1] && img[3 * p + 2] === bg[3 * p + 2];
        if (!m[p]) assert.ok(same, `${s.caption}: pixel ${p} outside the mask differs from the background`);
        else {
          inside++;
          if (!same) changed++;
        }
      }
      // and the mask is tight: (nearly) every mask pixel was drawn on
      assert.ok(changed >= 0.95 * inside, `${s.caption}: only ${changed}/${inside} mask pixels differ from the background`);
    }
  });

  it('box, centroid and point prompt describe the mask; the point lies on it', () => {
    const s = renderScene({ subject: parseSubjectId('ring-white-plain-none-gem'), pose: centred('front'), background: 'studio' }, { seed: 2 });
    const [x0, y0, x1, y1] = s.box;
    const m = s.mask.data;
    let area = 0;
    for (let y = 0; y < 64; y++) {
      for (let x = 0; x < 64; x++) {
        if (!m[y * 64 + x]) continue;
        area++;
        assert.ok(x >= x0 && x < x1 && y >= y0 && y < y1);
      }
    }
    assert.equal(area, s.area);
    const [px, py] = s.point;
    assert.equal(m[Math.floor(py) * 64 + Math.floor(px)], 1, 'point prompt on the mask');
    // a ring's centroid sits in its hole, off the mask: that is why `point` exists
    assert.equal(m[Math.floor(s.centroid[1]) * 64 + Math.floor(s.centroid[0])], 0);
  });

  it('captions name the attributes', () => {
    const s = renderScene(spec, { seed: 1 });
    assert.equal(s.caption, 'a photo of a red striped ball with tilted pose in grass background');
    assert.equal(s.shortCaption, 'a red striped ball');
    assert.equal(s.classCaption, 'a ball');
    assert.deepEqual(s.attributes.pose.slice(0, 1), ['tilted']);
    const o = renderScene({ subject: parseSubjectId('cup-orange-plain-none-tab'), pose: centred('left'), background: 'wood' });
    assert.equal(o.caption, 'a photo of an orange cup with facing left pose in wooden floor background');
    const rng = new Rng(8);
    for (let k = 0; k < 100; k++) {
      const r = randomScene(rng, { size: 32 });
      const a = r.attributes;
      for (const word of [a.colour, PATTERN_WORDS[a.pattern as keyof typeof PATTERN_WORDS], a.class, a.pose[0], BACKGROUND_WORDS[a.background]]) {
        assert.ok(r.caption.includes(word), `"${r.caption}" lacks "${word}"`);
      }
      assert.ok(r.caption.startsWith(`a photo of ${r.shortCaption} with `));
      assert.equal(r.subjectId, `${a.class}-${a.colour}-${a.pattern}-${a.secondary}-${a.detail}`);
    }
  });

  it('subjectPhotos: one identity, n photos, distinct backgrounds (n ≤ 9), every view used', () => {
    const photos = subjectPhotos('bottle-green-stripes-white-cap', 6, 1);
    assert.equal(photos.length, 6);
    assert.ok(photos.every((p) => p.subjectId === 'bottle-green-stripes-white-cap'));
    assert.equal(new Set(photos.map((p) => p.spec.background)).size, 6);
    assert.deepEqual(new Set(photos.map((p) => p.spec.pose.view)), new Set(['standing', 'lying']));
    assert.equal(new Set(photos.map((p) => p.caption)).size, 6);
  });

  it('rejects bad input with messages naming it', () => {
    assert.throws(() => renderScene(spec, { size: 16 }), /size must be an integer in 32\.\.256, got 16/);
    assert.throws(() => renderScene({ ...spec, pose: { ...spec.pose, view: 'side' } }), /ball view must be one of front, got "side"/);
    assert.throws(() => renderScene({ ...spec, background: 'moon' as never }), /unknown background "moon"/);
    assert.throws(() => subjectPhotos('ball-red-stripes-red-seam', 2, 0), /secondary must be a colour other than the body colour/);
    assert.throws(() => subjectPhotos('teapot-red-plain-none-x', 2, 0), /unknown class "teapot"/);
  });

  it('speed at 64×64 (printed; the ≥ 500 images/s aim is for an idle core)', function () {
    this.timeout(60000);
    const rng = new Rng(99);
    for (let i = 0; i < 100; i++) randomScene(rng);
    const n = 1000;
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) randomScene(rng);
    const cpu = process.cpuUsage(cpu0);
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const perCpu = n / ((cpu.user + cpu.system) / 1e6);
    console.log(`      world: ${(n / wall).toFixed(0)} images/s wall, ${perCpu.toFixed(0)} images/s per CPU-second (64×64, 3×3 supersampling)`);
    assert.ok(perCpu > 100, 'rendering is far slower than designed');
  });
});
