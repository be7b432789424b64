import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { HostTensor, hostTensor } from '../../../lib/io/host-tensor';
import { ParamStore } from '../../../lib/nn';
import { AutoencoderKL } from '../../../lib/models/vae/autoencoder-kl';
import { renameLegacyVAEKey } from '../../../lib/models/vae/legacy-names';
import { upsampleNearest2x } from '../../../lib/models/vae/resampling';
import { resolveVAEConfig } from '../../../lib/models/vae/config';
import { runner } from '../../../lib/parity/runners/vae';
import { runParity, formatResult } from '../../../lib/parity/engine';
import { Rng } from '../../../lib/random';
import { expectNoLeak } from '../../helpers/leak';
import { fixture } from '../../helpers/fixtures';

/**
 * Random weights for whatever a config needs: build, and on each "missing parameter" error add that parameter
 * with the shape the block asked for. Names and shapes come from the model code alone, never from a fixture.
 */
function randomVae(config: Record<string, unknown>, seed = 0, weights = new Map<string, HostTensor>()): AutoencoderKL {
  const rng = new Rng(seed);
  for (let guard = 0; guard < 2000; guard++) {
    try {
      return new AutoencoderKL(ParamStore.fromHost(weights), config, () => {});
    } catch (e) {
      const m = /missing parameter "([^"]+)" \(expected shape \[([\d,]*)\]\)/.exec((e as Error).message);
      if (!m) throw e;
      const shape = m[2] ? m[2].split(',').map(Number) : [];
      const data = rng.normal(shape).map((v) => v * 0.1);
      weights.set(m[1], hostTensor('float32', shape, data));
    }
  }
  throw new Error('randomVae: too many parameters');
}

describe('models/vae: AutoencoderKL', () => {
  describe('golden cases (sd-tiny, component "vae")', () => {
    it('should pass vae_encode, vae_decode and vae_legacy_attention_names within tolerance, leak-free', async function () {
      const dir = fixture('sd-tiny');
      if (!dir) return this.skip();
      const report = await runParity(dir, [runner], undefined, (_f, name) => name.startsWith('vae_'));
      const lines = report.results.flatMap(formatResult);
      assert.strictEqual(report.results.length, 3, lines.join('\n'));
      assert.strictEqual(report.failed, 0, lines.join('\n'));
    });
  });

  describe('built from other configs', () => {
    it('should encode [1,16,16,3] → [1,8,8,3] latents and decode back, block_out_channels=[8,16] lpb=1, no mid attention', async () => {
      const vae = randomVae({ block_out_channels: [8, 16], down_block_types: ['DownEncoderBlock2D', 'DownEncoderBlock2D'], up_block_types: ['UpDecoderBlock2D', 'UpDecoderBlock2D'], layers_per_block: 1, norm_num_groups: 4, latent_channels: 3, mid_block_add_attention: false });
      try {
        assert.strictEqual(vae.scaleFactor, 2);
        assert.ok(!vae.params.names().some((n) => n.includes('attentions')));
        await expectNoLeak(() => {
          const img = tf.randomUniform([1, 16, 16, 3], -1, 1) as tf.Tensor4D;
          const dist = vae.encode(img);
          assert.deepStrictEqual(dist.mean.shape, [1, 8, 8, 3]);
          const lv = dist.logvar.dataSync();
          assert.ok(lv.every((v) => v >= -30 && v <= 20));
          const z = vae.encodeLatents(img, new Rng(4));
          const z2 = vae.encodeLatents(img, new Rng(4));
          assert.deepStrictEqual(z.dataSync(), z2.dataSync());
          const zMode = vae.encodeLatents(img);
          const want = tf.mul(dist.mean, 0.18215);
          assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(zMode, want))).dataSync()[0]) < 1e-7);
          tf.dispose([z, z2, zMode, want]);
          const out = vae.decode(dist.mean);
          assert.deepStrictEqual(out.shape, [1, 16, 16, 3]);
          tf.dispose([img, out]);
          dist.dispose();
        });
      } finally {
        vae.dispose();
      }
    });

    it('should name the VAE params as diffusers does (conv_shortcut, downsamplers.0.conv, upsamplers.0.conv, to_out.0)', () => {
      const vae = randomVae({ block_out_channels: [4, 8], down_block_types: ['DownEncoderBlock2D', 'DownEncoderBlock2D'], up_block_types: ['UpDecoderBlock2D', 'UpDecoderBlock2D'], layers_per_block: 2, norm_num_groups: 2 });
      try {
        const names = new Set(vae.params.names());
        for (const n of [
          'encoder.down_blocks.0.downsamplers.0.conv.weight',
          'encoder.down_blocks.1.resnets.0.conv_shortcut.weight',
          'decoder.up_blocks.0.upsamplers.0.conv.weight',
          'decoder.up_blocks.1.resnets.2.conv2.weight',
          'decoder.up_blocks.1.resnets.0.conv_shortcut.weight',
          'encoder.mid_block.attentions.0.to_out.0.weight',
          'quant_conv.weight',
          'post_quant_conv.bias',
        ]) {
          assert.ok(names.has(n), n);
        }
        assert.ok(!names.has('encoder.down_blocks.1.downsamplers.0.conv.weight'), 'the last down block has no downsampler');
      } finally {
        vae.dispose();
      }
    });

    it('should fill diffusers defaults, and reject unknown block types and extra weights with clear errors', () => {
      const c = resolveVAEConfig({}, () => {});
      assert.deepStrictEqual([c.block_out_channels, c.layers_per_block, c.norm_num_groups, c.scaling_factor, c.mid_block_add_attention], [[64], 1, 32, 0.18215, true]);
      assert.throws(() => resolveVAEConfig({ down_block_types: ['AttnDownEncoderBlock2D'] }), /not implemented \(only DownEncoderBlock2D\)/);
      assert.throws(() => resolveVAEConfig({ block_out_channels: [10], norm_num_groups: 4 }), /not divisible/);
      const small = { block_out_channels: [4], norm_num_groups: 2 };
      assert.throws(() => new AutoencoderKL(ParamStore.fromHost(new Map()), small, () => {}), /missing parameter "encoder.conv_in.weight" \(expected shape \[4,3,3,3\]\)/);
      const weights = new Map<string, HostTensor>();
      randomVae(small, 0, weights).dispose();
      weights.set('encoder.stray.weight', hostTensor('float32', [1], new Float32Array(1)));
      assert.throws(() => new AutoencoderKL(ParamStore.fromHost(weights), small, () => {}), /1 weights do not belong to this config \(first: encoder.stray.weight\)/);
    });

    it('should map the legacy attention names and leave others alone', () => {
      assert.strictEqual(renameLegacyVAEKey('decoder.mid_block.attentions.0.proj_attn.weight'), 'decoder.mid_block.attentions.0.to_out.0.weight');
      assert.strictEqual(renameLegacyVAEKey('encoder.mid_block.attentions.0.query.bias'), 'encoder.mid_block.attentions.0.to_q.bias');
      assert.strictEqual(renameLegacyVAEKey('encoder.down_blocks.0.resnets.0.conv1.weight'), 'encoder.down_blocks.0.resnets.0.conv1.weight');
    });
  });

  describe('upsampleNearest2x', () => {
    it('should equal nearest ×2 resampling and have the right gradient for batch 2, x=[2,3,2,2]', async () => {
      await expectNoLeak(() =>
        tf.tidy(() => {
          const x = tf.tensor4d(Array.from({ length: 24 }, (_, i) => i), [2, 3, 2, 2]);
          const y = upsampleNearest2x(x);
          assert.deepStrictEqual(y.shape, [2, 6, 4, 2]);
          const xv = x.arraySync();
          const yv = y.arraySync();
          for (let b = 0; b < 2; b++)
            for (let i = 0; i < 6; i++)
              for (let j = 0; j < 4; j++) assert.deepStrictEqual(yv[b][i][j], xv[b][i >> 1][j >> 1]);
          // d/dx sum(w ⊙ up(x)) = sum of w over each 2×2 block
          const w = tf.tensor4d(Array.from({ length: 96 }, (_, i) => (i % 7) - 3), [2, 6, 4, 2]);
          const g = tf.grad((z: tf.Tensor) => tf.sum(tf.mul(upsampleNearest2x(z as tf.Tensor4D), w)))(x);
          const wv = w.arraySync();
          const gv = (g as tf.Tensor4D).arraySync();
          for (let b = 0; b < 2; b++)
            for (let i = 0; i < 3; i++)
              for (let j = 0; j < 2; j++)
                for (let c = 0; c < 2; c++) {
                  const want = wv[b][2 * i][2 * j][c] + wv[b][2 * i + 1][2 * j][c] + wv[b][2 * i][2 * j + 1][c] + wv[b][2 * i + 1][2 * j + 1][c];
                  assert.strictEqual(gv[b][i][j][c], want);
                }
        }),
      );
    });
  });

  describe('loading', () => {
    it('should load sd-tiny/vae, report scalingFactor 0.18215 and free every tensor on dispose', async function () {
      const dir = fixture('sd-tiny');
      if (!dir) return this.skip();
      await expectNoLeak(() => {
        const vae = AutoencoderKL.load(`${dir}/vae`, { warn: () => {} });
        assert.strictEqual(vae.scalingFactor, 0.18215);
        assert.strictEqual(vae.scaleFactor, 8);
        vae.dispose();
      });
      assert.throws(() => AutoencoderKL.load(`${dir}/unet`), /is for UNet2DConditionModel, not AutoencoderKL/);
      assert.throws(() => AutoencoderKL.load(`${dir}/nope`), /folder not found: .*nope/);
    });
  });
});
