import { strict as assert } from 'assert';
import { Rng } from '../../lib/random';
import { HostTensor } from '../../lib/io/host-tensor';
import { BACKGROUNDS, COLOURS, PALETTE, estimateBackground, estimateColour, matchesColour, nearestColour, randomScene, subjectPhotos } from '../../lib/world';

describe('world/oracle', () => {
  it('names every palette colour, and its shaded versions, as itself', () => {
    for (const c of COLOURS) {
      const [r, g, b] = PALETTE[c];
      assert.equal(nearestColour(r, g, b), c);
      assert.equal(nearestColour(r * 0.8, g * 0.8, b * 0.8), c, `${c} ×0.8`);
    }
  });

  it('background kind and body colour on clean renders: ≥ 90 % (with the mask), background ≥ 85 % without', function () {
    this.timeout(60000);
    const rng = new Rng(2024);
    const n = 270;
    let bg = 0;
    let bgNoMask = 0;
    let colour = 0;
    for (let i = 0; i < n; i++) {
      // every background equally often
      const s = randomScene(rng, { only: { backgrounds: [BACKGROUNDS[i % BACKGROUNDS.length]] } });
      if (estimateBackground(s.image, s.mask).kind === s.spec.background) bg++;
      if (estimateBackground(s.image).kind === s.spec.background) bgNoMask++;
      if (matchesColour(s.image, s.mask, s.spec.subject.colour)) colour++;
    }
    console.log(`      oracle on ${n} renders: background ${(bg / n * 100).toFixed(1)} % (mask), ${(bgNoMask / n * 100).toFixed(1)} % (no mask); colour ${(colour / n * 100).toFixed(1)} %`);
    assert.ok(bg / n >= 0.9);
    assert.ok(bgNoMask / n >= 0.85);
    assert.ok(colour / n >= 0.9);
  });

  it('held-out subjects: colour read correctly in most of their photos', () => {
    for (const id of ['cup-blue-dots-white-loop', 'blob-pink-plain-none-ears', 'cube-yellow-checks-red-emblem']) {
      const photos = subjectPhotos(id, 9, 3);
      const ok = photos.filter((p) => estimateColour(p.image, p.mask).colour === p.spec.subject.colour).length;
      assert.ok(ok >= 8, `${id}: ${ok}/9`);
    }
  });

  it('probabilities sum to 1; errors name the problem', () => {
    const s = randomScene(new Rng(1));
    const p = estimateBackground(s.image, s.mask).probabilities;
    assert.ok(Math.abs(Object.values(p).reduce((a, b) => a + b, 0) - 1) < 1e-9);
    const empty: HostTensor = { dtype: 'uint8', shape: [64, 64], data: new Uint8Array(64 * 64) };
    assert.throws(() => estimateColour(s.image, empty), /mask is empty/);
    assert.throws(() => estimateBackground(s.image, { ...empty, shape: [32, 32], data: new Uint8Array(1024) }), /does not match image/);
  });
});
