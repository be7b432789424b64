import * as assert from 'assert';
import * as path from 'path';
import { HostTensor } from '../../../lib/io/host-tensor';
import { readSafetensors } from '../../../lib/io/safetensors';
import { ParamStore } from '../../../lib/nn';
import { buildSamFromStore, loadSamFromFolder } from '../../../lib/models/sam/build';
import { readSamFixtureConfig } from '../../../lib/parity/runners/sam';
import { expectNoLeak } from '../../helpers/leak';
import { SamFixture } from './sam-fixture';

describe('models/sam/build (sam-tiny weights by official names)', function () {
  const fx = SamFixture.open();
  if (!fx) return;
  const weights = () => new Map(readSafetensors(path.join(fx.dir, 'model.safetensors')).tensors);

  it('should take all 174 tensors of model.safetensors and dispose them all', async () => {
    await expectNoLeak(() => {
      const sam = loadSamFromFolder(fx.dir);
      assert.strictEqual(sam.store.names().length, 174);
      assert.deepStrictEqual(sam.store.unusedKeys(), []);
      sam.dispose();
    });
  });

  it('should name a missing parameter and its expected shape', async () => {
    await expectNoLeak(() => {
      const w = weights();
      w.delete('image_encoder.blocks.0.attn.rel_pos_h');
      assert.throws(() => buildSamFromStore(ParamStore.fromHost(w), readSamFixtureConfig(fx.dir)), /missing parameter "image_encoder\.blocks\.0\.attn\.rel_pos_h" \(expected shape \[5,16\]\)/);
    });
  });

  it('should report a config that does not fit the weights (window_size 4 → rel_pos [7,16] vs [5,16])', async () => {
    await expectNoLeak(() => {
      const cfg = { ...readSamFixtureConfig(fx.dir), window_size: 4 };
      assert.throws(() => buildSamFromStore(ParamStore.fromHost(weights()), cfg), /image_encoder\.blocks\.0\.attn\.rel_pos_h": expected shape \[7,16\], found \[5,16\]/);
    });
  });

  it('should reject unexpected weights unless strict is off', async () => {
    await expectNoLeak(() => {
      const w = weights();
      const extra: HostTensor = { dtype: 'float32', shape: [1], data: new Float32Array(1) };
      w.set('mask_decoder.extra_head.weight', extra);
      assert.throws(() => buildSamFromStore(ParamStore.fromHost(w), readSamFixtureConfig(fx.dir)), /1 unexpected parameter\(s\): mask_decoder\.extra_head\.weight/);
      const warned: string[] = [];
      const sam = buildSamFromStore(ParamStore.fromHost(w), readSamFixtureConfig(fx.dir), { strict: false, warn: (m) => warned.push(m) });
      assert.strictEqual(warned.length, 1);
      sam.dispose();
    });
  });
});
