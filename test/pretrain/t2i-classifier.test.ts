import * as assert from 'assert';
import * as path from 'path';
import { attributeConfusion, sceneAttributeLabels, WorldAttributeClassifier } from '../../lib/metrics/world-attributes';
import { classifierT2IScores, formatT2IScores } from '../../lib/pretrain/t2i-eval';
import { evalScenes } from '../../lib/pretrain/world-data';
import { expectNoLeak } from '../helpers/leak';

const DIR = path.resolve(__dirname, '..', '..', '..', 'models', 'detex-mini', 'attribute_classifier');

describe('pretrain/t2i with the attribute classifier', function () {
  this.timeout(120000);

  it('should score images against their captions’ attributes, with the real renders as the ceiling', async () => {
    const set = evalScenes(27, 11, { size: 64, split: 'train' });
    const clf = WorldAttributeClassifier.load(DIR);
    try {
      const real = set.scenes.map((s) => s.image);
      const same = await expectNoLeak(() => classifierT2IScores(clf, real, set.scenes));
      assert.deepStrictEqual(same.generated, same.reference);
      assert.ok(same.reference.background >= 0.9, `background ceiling ${same.reference.background}`);
      // each image scored against the next caption: only coinciding backgrounds may count
      const n = set.scenes.length;
      const shifted = set.scenes.map((_, i) => set.scenes[(i + 1) % n].image);
      const coincide = set.scenes.filter((s, i) => s.attributes.background === set.scenes[(i + 1) % n].attributes.background).length / n;
      const sc = classifierT2IScores(clf, shifted, set.scenes);
      assert.ok(sc.generated.background <= coincide + 0.1, `mismatched backgrounds scored ${sc.generated.background} (coinciding ${coincide})`);
      const lines = formatT2IScores({ background: 0.5, colour: 0.25, referenceBackground: 1, referenceColour: 0.9, n: 27, classifier: same });
      assert.strictEqual(lines.length, 3);
      assert.match(lines[1], /^classifier: class \d\.\d\d \(real \d\.\d\d\), colour .*, pattern .*, background 1\.00 \(real 1\.00\)$/);
      // the read-out counts every image once, and its diagonal is the pattern accuracy
      const reads = same.patternReads;
      assert.deepStrictEqual(Object.keys(reads), ['plain', 'stripes', 'dots', 'checks']);
      const cells = Object.values(reads).flatMap((r) => Object.values(r));
      assert.strictEqual(cells.reduce((a, b) => a + b, 0), n);
      const diagonal = Object.keys(reads).reduce((a, k) => a + reads[k][k], 0);
      assert.ok(Math.abs(diagonal / n - same.generated.pattern) < 1e-9);
      assert.match(lines[2], /^pattern asked → read as \(generated\): plain → plain \d+ stripes \d+ dots \d+ checks \d+; stripes → /);
      assert.throws(() => attributeConfusion(clf.predict(real.slice(0, 2)), set.scenes.slice(0, 2).map((s) => sceneAttributeLabels(s.attributes)), 'pattern', ['plain']),
        /attributeConfusion: pattern "\w+" read as "\w+", not both in plain/);
    } finally {
      clf.dispose();
    }
  });
});
