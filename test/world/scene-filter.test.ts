import { strict as assert } from 'assert';
import { Rng } from '../../lib/random';
import { filterIdentities, parseSceneFilter, randomScene, sceneFilterSpec, trainIdentities } from '../../lib/world';
import { worldBatch } from '../../lib/pretrain/world-data';

describe('world scene filter (a narrowed world for capacity tests)', () => {
  it('parses key=value lists, repeated keys included, and writes them back in a fixed order', () => {
    const f = parseSceneFilter(' background=studio, class=ball,colour=blue ,class=cup');
    assert.deepEqual(f, { backgrounds: ['studio'], classes: ['ball', 'cup'], colours: ['blue'] });
    assert.equal(sceneFilterSpec(f), 'class=ball,class=cup,colour=blue,background=studio');
    assert.deepEqual(parseSceneFilter(sceneFilterSpec(f)), { classes: ['ball', 'cup'], colours: ['blue'], backgrounds: ['studio'] });
    assert.deepEqual(parseSceneFilter(''), {});
    assert.equal(sceneFilterSpec(undefined), '');
  });

  it('refuses an unknown key or value, naming it and the allowed ones', () => {
    assert.throws(() => parseSceneFilter('class=boat'), /class "boat" is not one of ball, cube, cup/);
    assert.throws(() => parseSceneFilter('colour=teal'), /colour "teal" is not one of red/);
    assert.throws(() => parseSceneFilter('pattern=zigzag'), /pattern "zigzag" is not one of plain, stripes, dots, checks/);
    assert.throws(() => parseSceneFilter('secondary=teal'), /secondary "teal" is not one of red, .*brown, none/);
    assert.throws(() => parseSceneFilter('background=moon'), /background "moon" is not one of grass/);
    assert.throws(() => parseSceneFilter('size=3'), /"size=3" must be key=value with key one of class, colour, pattern, secondary, background/);
    assert.throws(() => parseSceneFilter('ball'), /"ball" must be key=value/);
  });

  it('keeps only the allowed identities, and refuses a filter that leaves none', () => {
    const kept = filterIdentities(trainIdentities(), parseSceneFilter('class=ball,colour=blue'), 'train');
    assert.ok(kept.length > 0);
    assert.ok(kept.every((s) => s.cls === 'ball' && s.colour === 'blue'));
    assert.deepEqual([...new Set(kept.map((s) => s.pattern))].sort(), ['checks', 'dots', 'plain', 'stripes']);
    assert.equal(filterIdentities(trainIdentities(), undefined, 'train'), trainIdentities());
    // a fixed pattern colour keeps the patterned ones of that colour, and plain ones only with 'none'
    const white = filterIdentities(trainIdentities(), parseSceneFilter('class=ball,colour=blue,secondary=white,secondary=none'), 'train');
    assert.ok(white.every((s) => (s.pattern === 'plain' ? s.secondary === 'none' : s.secondary === 'white')));
    assert.deepEqual([...new Set(white.map((s) => s.pattern))].sort(), ['checks', 'dots', 'plain', 'stripes']);
    assert.equal(sceneFilterSpec(parseSceneFilter('secondary=none,class=ball')), 'class=ball,secondary=none');
    // the held-out ball is orange-striped: every orange-striped ball is out of the train split
    assert.throws(() => randomScene(new Rng(1), { only: parseSceneFilter('class=ball,colour=orange,pattern=stripes') }),
      /scene filter "class=ball,colour=orange,pattern=stripes" leaves no identity of the train split/);
    assert.throws(() => randomScene(new Rng(1), { only: { backgrounds: [] } }), /at least one background/);
  });

  it('draws scenes of the narrowed world only, and leaves the whole world\'s draws unchanged', () => {
    const only = parseSceneFilter('class=ball,colour=blue,background=studio');
    const b = worldBatch(new Rng(3), { batch: 24, size: 32, only });
    const patterns = new Set<string>();
    for (const s of b.scenes) {
      assert.equal(s.attributes.class, 'ball');
      assert.equal(s.attributes.colour, 'blue');
      assert.equal(s.attributes.background, 'studio');
      assert.match(s.caption, /blue .*ball .*studio/);
      patterns.add(s.attributes.pattern);
    }
    assert.ok(patterns.size >= 3, `24 draws should show most patterns, got ${[...patterns]}`);
    // an empty filter is the whole world: the same draws as none
    const none = randomScene(new Rng(7), { size: 32 });
    const empty = randomScene(new Rng(7), { size: 32, only: parseSceneFilter('') });
    assert.equal(empty.caption, none.caption);
    assert.deepEqual(empty.image.data, none.image.data);
  });
});
