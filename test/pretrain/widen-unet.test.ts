import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { HostTensor } from '../../lib/io/host-tensor';
import { readSafetensors } from '../../lib/io/safetensors';
import { UNet2DConditionModel } from '../../lib/models/unet/unet';
import { ParamStore } from '../../lib/nn/params';
import { Rng } from '../../lib/random';
import { remap, segmentMap, sinusoidMap, widened, concat, fixed } from '../../lib/pretrain/widen-axes';
import { widenUNet } from '../../lib/pretrain/widen-unet';
import { unetConfig } from '../../scripts/pretrain/unet-config';
import { expectNoLeak } from '../helpers/leak';
import { predict, randomUNet, relError } from '../helpers/random-unet';
import { DETEX_MINI as MINI } from '../helpers/pretrain-paths';


describe('pretrain/widen-unet', function () {
  this.timeout(60_000);

  it('copies output channels and shares input channels, with zero-sum noise', () => {
    // [out 2, in 3] → out ×2, in ×2: every old weight becomes a 2×2 block whose columns sum to it
    const old: HostTensor = { dtype: 'float32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) };
    const w = remap(old, [segmentMap(widened(2, 2)), segmentMap(widened(3, 2))], { splitAxis: 1, noise: 0.3, rng: new Rng(1) });
    assert.deepStrictEqual(w.shape, [4, 6]);
    const d = w.data as Float32Array;
    for (let o = 0; o < 4; o++) {
      for (let i = 0; i < 3; i++) {
        const a = d[o * 6 + 2 * i];
        const b = d[o * 6 + 2 * i + 1];
        assert.ok(Math.abs(a + b - old.data[Math.floor(o / 2) * 3 + i]) < 1e-6, `shares of old [${Math.floor(o / 2)}, ${i}] sum to it`);
        assert.notStrictEqual(a, b, 'the noise makes the shares differ');
      }
    }
  });

  it('keeps a concatenation\'s parts apart and reads the old timestep frequencies', () => {
    const m = segmentMap(concat(fixed(2), widened(2, 3)));
    assert.deepStrictEqual([...m.src], [0, 1, 2, 2, 2, 3, 3, 3]);
    // width 4 → 8: positions 0,2 of each half are the old 0,1 (first half) and 2,3 (second half)
    assert.deepStrictEqual([...sinusoidMap(4, 2).src], [0, -1, 1, -1, 2, -1, 3, -1]);
  });

  it('widens every level ×2: the wider UNet predicts the same noise', () => {
    expectNoLeak(() => {
      const { config, weights } = randomUNet([16, 32, 32]);
      const wide = widenUNet(config, unetConfig([32, 64, 64]), weights, { seed: 5 });
      assert.deepStrictEqual(wide.approximations, []);
      const a = predict(config, weights);
      const b = predict(unetConfig([32, 64, 64]), wide.weights);
      assert.ok(relError(a, b) < 1e-4, `relative error ${relError(a, b)}`);
    });
  });

  it('widens only the first level of the shipped detex-mini UNet: names what it approximates, stays close', () => {
    const dir = path.join(MINI, 'unet');
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    const weights = readSafetensors(path.join(dir, 'diffusion_pytorch_model.safetensors')).tensors;
    const channels = config.block_out_channels as number[];
    const wider = { ...config, block_out_channels: [2 * channels[0], ...channels.slice(1)] };
    const wide = widenUNet(config, wider, weights, { seed: 5 });
    // only the up-block norms over a skip concatenation whose parts now widen differently, and (where the first level
    // was narrower than the second) the resnet whose shortcut disappears; each is named with its module
    assert.ok(wide.approximations.length > 0, 'a first-level-only widening approximates something');
    for (const a of wide.approximations) assert.match(a, /^(up_blocks\.\d+\.resnets\.\d+\.norm1: its groups span|down_blocks\.\d+\.resnets\.0: the wider config has no conv_shortcut)/);
    const store = ParamStore.fromHost(wide.weights);
    UNet2DConditionModel.fromConfig(wider as never, store).dispose();
    assert.deepStrictEqual(store.unusedKeys(), []);
    // measured on the shipped UNets: 48/96/96 → 96/96/96 6–17 % relative ε error over t 50–900, 96/96/96 → 192/96/96
    // 0.7–2.8 % (a random UNet of the wider config: ~100 %)
    const err = relError(predict(config, weights), predict(wider, wide.weights));
    assert.ok(err < 0.3, `relative error ${err}`);
  });

  it('names the shortcut a first-level widening removes (16/32/32 → 32/32/32)', () => {
    const { config, weights } = randomUNet([16, 32, 32]);
    const wide = widenUNet(config, unetConfig([32, 32, 32]), weights, { seed: 5 });
    assert.deepStrictEqual(wide.approximations.map((a) => a.split(':')[0]), ['down_blocks.1.resnets.0', 'up_blocks.1.resnets.1.norm1', 'up_blocks.2.resnets.0.norm1']);
    assert.ok(!wide.weights.has('down_blocks.1.resnets.0.conv_shortcut.weight'));
  });

  it('refuses configs that differ in more than the widths, or widths that are not multiples', () => {
    const { config, weights } = randomUNet([32, 32, 32]);
    assert.throws(() => widenUNet(config, unetConfig([48, 32, 32]), weights), /block_out_channels\[0\] 32 → 48 is not an integer multiple/);
    assert.throws(() => widenUNet(config, unetConfig([64, 64, 64], 2), weights), /layers_per_block is 1 → 2/);
    weights.set('extra.weight', weights.get('conv_out.bias')!);
    assert.throws(() => widenUNet(config, unetConfig([64, 64, 64]), weights), /1 parameter\(s\) this config does not use, e.g. 'extra.weight'/);
    weights.delete('conv_out.weight');
    assert.throws(() => widenUNet(config, unetConfig([64, 64, 64]), weights), /no 'conv_out.weight'/);
  });
});
