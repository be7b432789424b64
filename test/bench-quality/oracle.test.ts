import * as assert from 'assert';
import { judge, oracle, MIN_AREA } from '../../lib/bench-quality/oracle';
import { editingPrompts, BACKGROUND_ORDER } from '../../lib/bench-quality/prompts';
import { hostTensor } from '../../lib/io/host-tensor';
import { renderScene, parseSubjectId, samplePose, heldOutSubjects, subjectPhotos, BackgroundKind } from '../../lib/world';
import { Rng } from '../../lib/random';

const subject = parseSubjectId('ball-orange-stripes-white-seam');
const scene = renderScene({ subject, pose: { ...samplePose('ball', new Rng(1)), x: 0.5, y: 0.5, scale: 0.34 }, background: 'snow' }, { size: 64, seed: 3 });

describe('bench quality: the world oracle as applied to generated images', () => {
  it('should accept the right background and body colour inside the mask, and reject wrong ones', () => {
    const ok = judge(scene.image, scene.mask, { background: 'snow', colour: 'orange' });
    assert.strictEqual(ok.subjectFound, true);
    assert.strictEqual(ok.backgroundKind, 'snow');
    assert.strictEqual(ok.backgroundOk, true);
    assert.strictEqual(ok.colour, 'orange');
    assert.strictEqual(ok.colourOk, true);
    assert.ok(ok.backgroundProb > 0.5);
    const wrong = judge(scene.image, scene.mask, { background: 'grass', colour: 'green' });
    assert.strictEqual(wrong.backgroundOk, false);
    assert.strictEqual(wrong.colourOk, false);
    assert.ok(wrong.backgroundProb < 0.5);
  });

  it('should count a tiny or whole-image mask as no subject found: colour wrong, background from the border frame', () => {
    const empty = hostTensor('uint8', [64, 64], new Uint8Array(64 * 64));
    const r = judge(scene.image, empty, { background: 'snow', colour: 'orange' });
    assert.strictEqual(r.subjectFound, false);
    assert.strictEqual(r.colour, null);
    assert.strictEqual(r.colourOk, false);
    assert.strictEqual(r.backgroundKind, 'snow', 'the border frame still shows snow');
    const full = hostTensor('uint8', [64, 64], new Uint8Array(64 * 64).fill(1));
    assert.strictEqual(judge(scene.image, full, { background: 'snow', colour: 'orange' }).subjectFound, false);
    assert.ok(MIN_AREA > 0);
  });

  it('should prompt the segmenter with one point at the image centre and judge inside its mask', async () => {
    const points: number[][] = [];
    const r = await oracle(scene.image, { background: 'snow', colour: 'orange' }, async (img, p) => {
      assert.strictEqual(img, scene.image);
      points.push(p);
      return scene.mask;
    });
    assert.deepStrictEqual(points, [[32, 32]]);
    assert.strictEqual(r.colourOk, true);
    assert.strictEqual(r.backgroundOk, true);
  });
});

describe('bench quality: editing prompts', () => {
  it('should ask for new backgrounds (not among the training photos), a new colour and a pose, with {{V}} and {{class}} only', () => {
    for (const s of heldOutSubjects()) {
      const id = `${s.cls}-${s.colour}-${s.pattern}-${s.secondary}-${s.detail}`;
      const train = subjectPhotos(id, 4, 0, { size: 32 }).map((x) => x.attributes.background as BackgroundKind);
      const ps = editingPrompts(s, train, { backgroundPrompts: 3, colourPrompt: true, posePrompt: true });
      assert.strictEqual(ps.length, 5);
      for (const p of ps) {
        assert.ok(!train.includes(p.background), `${id}: ${p.background} is a training background`);
        assert.deepStrictEqual([...p.template.matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]), ['V', 'class']);
        assert.match(p.template, /^a photo of a .*background$/);
        assert.ok(BACKGROUND_ORDER.includes(p.background));
      }
      const c = ps.find((p) => p.kind === 'colour')!;
      assert.notStrictEqual(c.colour, s.colour);
      assert.notStrictEqual(c.colour, s.secondary);
      assert.ok(c.template.includes(`a ${c.colour} {{V}}`));
      assert.strictEqual(ps.filter((p) => p.kind !== 'colour').every((p) => p.colour === s.colour), true);
      assert.strictEqual(new Set(ps.filter((p) => p.kind === 'background').map((p) => p.id)).size, 3);
    }
  });
});
