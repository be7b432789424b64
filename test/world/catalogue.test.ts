import { strict as assert } from 'assert';
import { Rng } from '../../lib/random';
import {
  CLASSES, COLOURS, HELD_OUT, PATTERNS, allIdentities, heldOutSubjects, parseSubjectId, randomScene, splitOf, subjectId, trainIdentities,
  worldVocabulary,
} from '../../lib/world';

describe('world/catalogue', () => {
  it('enumerates every identity once, and ids round-trip', () => {
    const all = allIdentities();
    // 7 classes × 10 colours × (1 plain + 3 patterns × 9 secondaries) × 2 details
    assert.equal(all.length, CLASSES.length * COLOURS.length * (1 + (PATTERNS.length - 1) * (COLOURS.length - 1)) * 2);
    const ids = all.map(subjectId);
    assert.equal(new Set(ids).size, ids.length);
    for (const id of ids.filter((_, i) => i % 37 === 0)) assert.equal(subjectId(parseSubjectId(id)), id);
  });

  it('holds out ≥ 6 identities over ≥ 4 classes, disjoint from train (not even class+colour+pattern shared)', () => {
    const held = heldOutSubjects();
    assert.ok(held.length >= 6);
    assert.ok(new Set(held.map((s) => s.cls)).size >= 4);
    const train = trainIdentities();
    const trainIds = new Set(train.map(subjectId));
    for (const id of HELD_OUT) assert.ok(!trainIds.has(id), `${id} is in train`);
    const triples = new Set(held.map((s) => `${s.cls}-${s.colour}-${s.pattern}`));
    for (const s of train) assert.ok(!triples.has(`${s.cls}-${s.colour}-${s.pattern}`), `${subjectId(s)} shares a held-out caption`);
    assert.ok(held.every((s) => splitOf(s) === 'heldout'));
    assert.ok(train.length > 3500);
  });

  it("randomScene draws only from its split", () => {
    const rng = new Rng(4);
    const held = new Set(HELD_OUT);
    for (let i = 0; i < 200; i++) assert.ok(!held.has(randomScene(rng, { size: 32 }).subjectId));
    const seen = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const s = randomScene(rng, { size: 32, split: 'heldout', only: { backgrounds: ['sky'] } });
      assert.ok(held.has(s.subjectId));
      assert.equal(s.spec.background, 'sky');
      seen.add(s.subjectId);
    }
    assert.equal(seen.size, HELD_OUT.length);
  });
});

describe('world/vocabulary', () => {
  it('lists every attribute value the renderer can produce', () => {
    const v = worldVocabulary();
    assert.deepEqual(v.classes, [...CLASSES]);
    assert.equal(v.backgrounds.length, 9);
    assert.ok(v.poseWords.includes('tilted') && v.poseWords.includes('facing left') && v.poseWords.includes('lying down'));
    const rng = new Rng(6);
    for (let i = 0; i < 80; i++) {
      const a = randomScene(rng, { size: 32 }).attributes;
      assert.ok(v.colours.includes(a.colour) && v.patterns.includes(a.pattern) && v.backgrounds.includes(a.background));
      assert.ok(v.details[a.class as keyof typeof v.details].includes(a.detail));
      assert.ok(v.views[a.class as keyof typeof v.views].includes(a.view));
      for (const w of a.pose) assert.ok(v.poseWords.includes(w), w);
    }
  });
});
