import * as assert from 'assert';
import { ParamStore } from '../../lib/nn/params';
import { seededInitializer } from '../../lib/nn/init';
import { deepenUNet } from '../../lib/pretrain/deepen-unet';
import { unetConfig } from '../../scripts/pretrain/unet-config';
import { expectNoLeak } from '../helpers/leak';
import { predict, predictWith, randomUNet, relError } from '../helpers/random-unet';

describe('pretrain/deepen-unet', function () {
  this.timeout(60_000);

  for (const layers of [[2, 2, 1], 3] as const) {
    it(`computes the trained function at step 0 with layers_per_block ${JSON.stringify(layers)}, using every trained weight`, () => {
      expectNoLeak(() => {
        const { config, weights } = randomUNet([16, 32, 32]);
        const deeper = unetConfig([16, 32, 32], layers as number | number[]);
        const deep = deepenUNet(config as never, deeper as never, weights, seededInitializer(5));
        const store = ParamStore.initializing(deep.init);
        const b = predictWith(deeper, store);
        assert.deepStrictEqual(deep.unread(), []);
        const a = predict(config, weights);
        assert.ok(relError(a, b) < 1e-5, `relative error ${relError(a, b)}`);
        // the inserted layers are there, not skipped: the deeper model has more parameters
        assert.ok(store.names().includes('down_blocks.0.resnets.1.conv1.weight'));
        assert.ok(store.names().includes('up_blocks.2.attentions.2.proj_out.weight'));
        store.dispose();
      });
    });
  }

  it('inserts identities that training can move: a nudged inserted layer changes the output', () => {
    const { config, weights } = randomUNet([16, 32, 32]);
    const deeper = unetConfig([16, 32, 32], [2, 2, 1]);
    const deep = deepenUNet(config as never, deeper as never, weights, seededInitializer(5));
    const nudged = ParamStore.initializing((name, shape) => {
      const t = deep.init(name, shape);
      if (name !== 'up_blocks.2.resnets.1.conv2.weight') return t;
      const d = Float32Array.from(t.data as Float32Array, (_, i) => (i % 7 === 0 ? 0.05 : 0));
      return { ...t, data: d };
    });
    const err = relError(predict(config, weights), predictWith(deeper, nudged));
    nudged.dispose();
    assert.ok(err > 1e-3, `the inserted up resnet's residual branch reaches the output (relative change ${err})`);
  });

  it('refuses a config that changes more than layers_per_block, or loses layers', () => {
    const { config, weights } = randomUNet([16, 32, 32], 2);
    assert.throws(() => deepenUNet(config as never, unetConfig([16, 32, 64], 2) as never, weights, seededInitializer(5)), /only layers_per_block may change, but block_out_channels is \[16,32,32\] → \[16,32,64\]/);
    assert.throws(() => deepenUNet(config as never, unetConfig([16, 32, 32], [2, 1, 2]) as never, weights, seededInitializer(5)), /down block 1 would lose layers \(2 → 1\)/);
  });
});
