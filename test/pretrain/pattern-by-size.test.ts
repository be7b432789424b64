import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { hostTensor } from '../../lib/io/host-tensor';
import { WorldAttributeClassifier } from '../../lib/metrics/world-attributes';
import { patternBySize } from '../../lib/pretrain/pattern-by-size';
import { worldBatch } from '../../lib/pretrain/world-data';
import { Rng } from '../../lib/random';
import { expectNoLeak } from '../helpers/leak';

const CLASSIFIER = path.resolve(__dirname, '..', '..', '..', 'models', 'detex-mini', 'attribute_classifier');

describe('pretrain/pattern-by-size', () => {
  it('should bin by subject area, smallest first, and score the round trip against the renders', async function () {
    if (!fs.existsSync(CLASSIFIER)) this.skip();
    const classifier = WorldAttributeClassifier.load(CLASSIFIER);
    try {
      const set = worldBatch(new Rng(3).fork('size'), { batch: 24, size: 64 });
      await expectNoLeak(() => {
        // an identity round trip reads exactly what the renders read
        const same = patternBySize(classifier, set, (x) => [...x], 3);
        assert.deepStrictEqual(same.map((b) => b.n), [8, 8, 8]);
        for (const b of same) assert.strictEqual(b.roundTrip, b.render);
        for (let k = 1; k < same.length; k++) assert.ok(same[k].minArea >= same[k - 1].maxArea, JSON.stringify(same));
        const total = same.reduce((a, b) => a + b.render * b.n, 0) / 24;
        assert.ok(total > 0.4, `the classifier reads pattern on renders: ${total}`);
        // a round trip that wipes every image to grey loses the pattern
        const grey = patternBySize(classifier, set, (x) => x.map((im) => hostTensor('uint8', im.shape, new Uint8Array(im.data.length).fill(128))), 1);
        assert.strictEqual(grey.length, 1);
        assert.ok(grey[0].roundTrip < grey[0].render, JSON.stringify(grey));
      });
      assert.throws(() => patternBySize(classifier, set, (x) => [...x], 0), /bins must be an integer in 1\.\.24 \(the set's size\), got 0/);
    } finally {
      classifier.dispose();
    }
  });
});
