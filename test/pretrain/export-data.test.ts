import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { AutoencoderKL } from '../../lib/models/vae/autoencoder-kl';
import { ParamStore } from '../../lib/nn/params';
import { seededInitializer } from '../../lib/nn/init';
import { exportComponent } from '../../lib/pretrain/export';
import { evalScenes, worldBatch } from '../../lib/pretrain/world-data';
import { Rng } from '../../lib/random';
import { heldOutSubjects } from '../../lib/world';
import { float16ToFloat32, float32ToFloat16 } from '../../lib/io/half-float';
import { tempDirs } from '../helpers/temp-dir';

const VAE = {
  _class_name: 'AutoencoderKL',
  down_block_types: ['DownEncoderBlock2D', 'DownEncoderBlock2D'],
  up_block_types: ['UpDecoderBlock2D', 'UpDecoderBlock2D'],
  block_out_channels: [8, 16],
  layers_per_block: 1,
  latent_channels: 4,
  norm_num_groups: 4,
  sample_size: 32,
};

describe('pretrain/export', () => {
  const tmp = tempDirs();
  it('should write a component folder the model class loads back (F16 round-trip)', () => {
    const dir = tmp('detex-export-');
    const store = ParamStore.initializing(seededInitializer(5));
    const vae = new AutoencoderKL(store, VAE);
    exportComponent(dir, VAE, store, { weightsFile: 'diffusion_pytorch_model.safetensors' });
    const back = AutoencoderKL.load(dir);
    assert.deepStrictEqual(back.params.names().sort(), store.names().sort());
    for (const name of store.names()) {
      const want = float16ToFloat32(float32ToFloat16(Float32Array.from(store.toHost(name).data)));
      assert.deepStrictEqual(Array.from(back.params.toHost(name).data), Array.from(want), name);
    }
    assert.deepStrictEqual(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')), VAE);
    vae.dispose();
    back.dispose();
  });
});

describe('pretrain/world-data', () => {
  it('should give the same batch for the same rng, items independent of batch size', () => {
    const a = worldBatch(new Rng(4).fork('step:1'), { batch: 3, size: 32 });
    const b = worldBatch(new Rng(4).fork('step:1'), { batch: 2, size: 32 });
    assert.deepStrictEqual(a.images.shape, [3, 32, 32, 3]);
    assert.deepStrictEqual(a.masks.shape, [3, 32, 32, 1]);
    assert.deepStrictEqual(a.captions.slice(0, 2), b.captions);
    assert.deepStrictEqual(Array.from(a.images.data.slice(0, 2 * 32 * 32 * 3)), Array.from(b.images.data));
    const v = Array.from(a.images.data);
    assert.ok(Math.min(...v) >= -1 && Math.max(...v) <= 1);
  });
  it('should train on the train split only and evaluate on held-out subjects', () => {
    const held = new Set(heldOutSubjects().map((s) => `${s.cls}-${s.colour}-${s.pattern}`));
    const tr = worldBatch(new Rng(9), { batch: 40, size: 32 });
    for (const s of tr.scenes) assert.ok(!held.has(`${s.attributes.class}-${s.attributes.colour}-${s.attributes.pattern}`), s.subjectId);
    const ev = evalScenes(8, 1, { size: 32 });
    const ids = new Set(heldOutSubjects().map((s) => `${s.cls}-${s.colour}-${s.pattern}`));
    for (const s of ev.scenes) assert.ok(ids.has(`${s.attributes.class}-${s.attributes.colour}-${s.attributes.pattern}`));
  });
});
