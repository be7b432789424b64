import { strict as assert } from 'assert';
import { Rng } from '../../lib/random';
import { CLASSES, CLOSE_UP_SCALE, POSE_LIMITS, maxFramedScale, randomScene, samplePose } from '../../lib/world';
import { worldBatch } from '../../lib/pretrain/world-data';

function subjectPixels(mask: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i];
  return n;
}

describe('world close-ups (pretraining data with larger subjects)', () => {
  it('draws a close-up scale above the world range, inside the frame, and changes nothing else of the pose', () => {
    for (const cls of CLASSES) {
      const top = Math.min(CLOSE_UP_SCALE.max, maxFramedScale(cls));
      assert.ok(top > CLOSE_UP_SCALE.min, `${cls}: no room for close-ups (max framed scale ${maxFramedScale(cls)})`);
      for (let k = 0; k < 50; k++) {
        const plain = samplePose(cls, new Rng(k));
        const close = samplePose(cls, new Rng(k), undefined, true);
        assert.ok(close.scale >= CLOSE_UP_SCALE.min && close.scale <= top, `${cls} seed ${k}: scale ${close.scale}`);
        assert.ok(plain.scale >= POSE_LIMITS.minScale && plain.scale <= POSE_LIMITS.maxScale);
        assert.deepEqual({ ...close, scale: 0, x: 0, y: 0 }, { ...plain, scale: 0, x: 0, y: 0 });
      }
    }
  });

  it('renders close-ups that at most touch the frame, never cut by it', () => {
    const rng = new Rng(4);
    const S = 64;
    for (let k = 0; k < 120; k++) {
      const s = randomScene(rng.fork(k), { size: S, closeUp: true });
      const m = s.mask.data;
      let worst = 0;
      for (const line of [(i: number) => i, (i: number) => (S - 1) * S + i, (i: number) => i * S, (i: number) => i * S + S - 1]) {
        let n = 0;
        for (let i = 0; i < S; i++) n += m[line(i)];
        worst = Math.max(worst, n);
      }
      // a disc cut 2 px deep by the frame leaves a ~20 px chord on it (placement as for the world's range did that)
      assert.ok(worst <= 8, `${s.caption} (scale ${s.spec.pose.scale.toFixed(3)}): ${worst} subject pixels on one border line`);
      assert.equal(s.caption, randomScene(rng.fork(k), { size: S }).caption, 'same identity, background and pose words');
    }
  });

  it('mixes close-ups into a batch by fraction, keeping every item identity and caption', () => {
    const none = worldBatch(new Rng(7), { batch: 12, size: 32 });
    const half = worldBatch(new Rng(7), { batch: 12, size: 32, closeUps: 0.5 });
    const all = worldBatch(new Rng(7), { batch: 12, size: 32, closeUps: 1 });
    assert.deepEqual(half.captions, none.captions);
    assert.deepEqual(all.captions, none.captions);
    const area = (b: typeof none, i: number) => subjectPixels(b.masks.data.subarray(i * 32 * 32, (i + 1) * 32 * 32));
    let closer = 0;
    for (let i = 0; i < 12; i++) {
      assert.ok(area(all, i) > area(none, i), `item ${i}: close-up area ${area(all, i)} vs ${area(none, i)}`);
      if (area(half, i) !== area(none, i)) closer++;
    }
    assert.ok(closer > 0 && closer < 12, `half the items close up, got ${closer} of 12`);
    assert.deepEqual(Array.from(worldBatch(new Rng(7), { batch: 12, size: 32, closeUps: 0 }).images.data), Array.from(none.images.data));
    assert.throws(() => worldBatch(new Rng(7), { batch: 2, closeUps: 1.5 }), /closeUps must be a fraction in \[0, 1\], got 1.5/);
  });
});
