import * as assert from 'assert';
import { loadSDComponents } from '../../lib/pipelines/load';
import { expectNoLeak } from '../helpers/leak';
import { fixture } from '../helpers/fixtures';

describe('pipelines/load: loadSDComponents', () => {
  it('should load sd-tiny unet, vae and scheduler from model_index.json and free them on dispose', async function () {
    const dir = fixture('sd-tiny');
    if (!dir) return this.skip();
    await expectNoLeak(() => {
      const sd = loadSDComponents(dir, { warn: () => {} });
      assert.strictEqual(sd.vae.scalingFactor, 0.18215);
      assert.strictEqual(sd.scheduler.config.steps_offset, 1);
      sd.dispose();
    });
    assert.throws(() => loadSDComponents(`${dir}/vae`), /model_index.json/);
  });
});
