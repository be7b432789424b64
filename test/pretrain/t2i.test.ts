import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { centreColour } from '../../lib/pretrain/t2i-eval';
import { TextConditioner } from '../../lib/pretrain/text-cond';
import { evalScenes } from '../../lib/pretrain/world-data';
import { expectNoLeak } from '../helpers/leak';
import { tempDirs } from '../helpers/temp-dir';

const ROOT = path.resolve(__dirname, '..', '..', '..');

describe('pretrain/t2i', () => {
  const tmp = tempDirs();
  it('should read the body colour of real renders without a mask most of the time', () => {
    const set = evalScenes(60, 11, { size: 64, split: 'train' });
    const ok = set.scenes.filter((s) => centreColour(s.image) === s.attributes.colour).length;
    assert.ok(ok / 60 >= 0.75, `${ok}/60`);
  });

  it('should condition on a placeholder text encoder when none is trained yet', async () => {
    const empty = tmp('detex-textcond-');
    const text = TextConditioner.load(empty, path.join(ROOT, 'models', 'detex-tiny', 'tokenizer'), 3);
    assert.strictEqual(text.identity, 'placeholder:3');
    await expectNoLeak(() => {
      const e = text.embed(['a photo of a red ball in grass background', '']);
      assert.deepStrictEqual(e.shape, [2, 77, 128]);
      e.dispose();
    });
    text.dispose();
  });
});
