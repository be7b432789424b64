/**
 * UNet2DConditionModel beyond the fixture: an SD v2-style config (linear projections, per-block heads,
 * two transformer layers), odd latent sizes, timestep broadcasting, attention capture and its gradients,
 * the Custom Diffusion trainable subset, and tensor leaks.
 */
import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { UNetConfig } from '../../../lib/models/unet/config';
import { UNet2DConditionModel } from '../../../lib/models/unet/unet';
import { atHalfLatent } from '../../../lib/models/unet/attention-capture';
import { upsampleNearest2x } from '../../../lib/models/unet/resample';
import { Rng } from '../../../lib/random';
import { expectNoLeak } from '../../helpers/leak';
import { randomUNet, unetParameterShapes } from './random-unet';

/** SD v2 in miniature: use_linear_projection, attention_head_dim per block, 3 levels, 1024→16-d context. */
const sd2Style: UNetConfig = {
  sample_size: 8,
  in_channels: 4,
  out_channels: 4,
  block_out_channels: [16, 32, 32],
  down_block_types: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
  up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
  layers_per_block: 1,
  attention_head_dim: [2, 4, 4],
  cross_attention_dim: 12,
  norm_num_groups: 4,
  use_linear_projection: true,
  transformer_layers_per_block: 2,
  flip_sin_to_cos: true,
  freq_shift: 0,
};

const rng = new Rng(7);
const randn = (shape: number[]) => tf.tensor(rng.normal(shape), shape);

describe('models/unet UNet2DConditionModel', function () {
  let model: UNet2DConditionModel;
  let baseline = 0;

  before(() => {
    baseline = tf.memory().numTensors;
    const warnings: string[] = [];
    model = randomUNet(sd2Style, 11, (m) => warnings.push(m));
    assert.deepEqual(warnings, []);
  });
  after(() => {
    model.dispose();
    assert.equal(tf.memory().numTensors, baseline, 'dispose() frees every weight');
  });

  it('should take Linear proj_in/proj_out weights (C, C) for use_linear_projection, and every weight it is given', () => {
    const shapes = unetParameterShapes(sd2Style);
    assert.deepEqual(shapes.get('down_blocks.1.attentions.0.proj_in.weight'), [32, 32]);
    assert.deepEqual(shapes.get('down_blocks.1.attentions.0.transformer_blocks.1.attn2.to_k.weight'), [32, 12]);
    assert.deepEqual(shapes.get('up_blocks.2.attentions.1.transformer_blocks.0.ff.net.0.proj.weight'), [128, 16]);
    assert.deepEqual(model.store.unusedKeys(), []);
  });

  it('should run forward x=[2,8,8,4] ctx=[2,5,12] → [2,8,8,4], finite, without leaking', () => {
    const x = randn([2, 8, 8, 4]) as tf.Tensor4D;
    const ctx = randn([2, 5, 12]) as tf.Tensor3D;
    const before = tf.memory().numTensors;
    const y = model.forward(x, [10, 700], ctx);
    assert.equal(tf.memory().numTensors, before + 1, 'forward leaves exactly its output');
    assert.deepEqual(y.shape, [2, 8, 8, 4]);
    assert.ok(tf.tidy(() => Number.isFinite(tf.sum(tf.abs(y)).dataSync()[0])));
    tf.dispose([x, ctx, y]);
  });

  it('should broadcast one timestep over the batch (number, [t], scalar tensor all equal [t, t])', async () => {
    await expectNoLeak(() => tf.tidy(() => {
      const x = randn([2, 8, 8, 4]) as tf.Tensor4D;
      const ctx = randn([2, 5, 12]) as tf.Tensor3D;
      const ref = model.forward(x, [500, 500], ctx);
      const t = tf.scalar(500, 'int32');
      for (const ts of [500, [500], t]) {
        const y = model.forward(x, ts, ctx);
        assert.equal(tf.max(tf.abs(tf.sub(y, ref))).dataSync()[0], 0);
        y.dispose();
      }
      assert.throws(() => model.forward(x, [1, 2, 3], ctx), /3 timesteps for a batch of 2/);
    }));
  });

  it('should handle odd latent sizes x=[1,9,7,4] (skips sized 5×4, 3×2; upsampled back to the skip size)', async () => {
    await expectNoLeak(() => {
      const x = randn([1, 9, 7, 4]) as tf.Tensor4D;
      const ctx = randn([1, 5, 12]) as tf.Tensor3D;
      const y = model.forward(x, [3], ctx);
      assert.deepEqual(y.shape, [1, 9, 7, 4]);
      tf.dispose([x, ctx, y]);
    });
  });

  it('should reject NCHW input and mismatched context with errors that say what was expected', () => {
    const x = tf.zeros([1, 4, 8, 8]) as tf.Tensor4D;
    const ctx = tf.zeros([1, 5, 12]) as tf.Tensor3D;
    assert.throws(() => model.forward(x, [1], ctx), /sample must be NHWC \[B, H, W, 4\], got \[1,4,8,8\]/);
    const x2 = tf.zeros([1, 8, 8, 4]) as tf.Tensor4D;
    const bad = tf.zeros([1, 5, 7]) as tf.Tensor3D;
    assert.throws(() => model.forward(x2, [1], bad), /context width 7 ≠ cross_attention_dim 12/);
    tf.dispose([x, ctx, x2, bad]);
  });

  it('should list its attn2 layers with their resolutions and capture the chosen ones from the same pass', async () => {
    const layers = model.crossAttentionLayers(8, 8);
    assert.deepEqual(
      layers.map((l) => [l.path, l.h, l.downscale]),
      [
        ['down_blocks.0.attentions.0.transformer_blocks.0.attn2', 8, 1],
        ['down_blocks.0.attentions.0.transformer_blocks.1.attn2', 8, 1],
        ['down_blocks.1.attentions.0.transformer_blocks.0.attn2', 4, 2],
        ['down_blocks.1.attentions.0.transformer_blocks.1.attn2', 4, 2],
        ['mid_block.attentions.0.transformer_blocks.0.attn2', 2, 4],
        ['mid_block.attentions.0.transformer_blocks.1.attn2', 2, 4],
        ...[0, 1].flatMap((a) => [0, 1].map((j) => [`up_blocks.1.attentions.${a}.transformer_blocks.${j}.attn2`, 4, 2])),
        ...[0, 1].flatMap((a) => [0, 1].map((j) => [`up_blocks.2.attentions.${a}.transformer_blocks.${j}.attn2`, 8, 1])),
      ],
    );
    await expectNoLeak(() => tf.tidy(() => {
      const x = randn([2, 8, 8, 4]) as tf.Tensor4D;
      const ctx = randn([2, 5, 12]) as tf.Tensor3D;
      const plain = model.forward(x, [10, 20], ctx);
      const all = model.forwardWithAttention(x, [10, 20], ctx, { captureAttention: { layers: atHalfLatent } });
      const half = layers.filter((l) => l.downscale === 2).map((l) => l.path);
      assert.deepEqual(Object.keys(all.attentionMaps).sort(), [...half].sort());
      // Capturing needs the probabilities, so on cpu+native it runs the unfused attention instead of the fused
      // kernel: the same math in another summation order (float rounding, ~1e-6 here).
      const diff = tf.max(tf.abs(tf.sub(all.sample, plain))).dataSync()[0];
      assert.ok(diff <= 1e-5, `capturing does not change the output (max |Δ| ${diff})`);
      for (const m of Object.values(all.attentionMaps)) {
        assert.deepEqual(m.shape, [2, 4, 4, 5]);
        const rowSums = tf.sum(m, 3).dataSync();
        for (const s of rowSums) assert.ok(Math.abs(s - 1) < 1e-5, 'head-averaged softmax rows sum to 1');
      }
      const some = model.forwardWithAttention(x, [10, 20], ctx, {
        captureAttention: { layers: ['mid_block.attentions.0.transformer_blocks.1.attn2'], tokens: [3, 1] },
      });
      const m = some.attentionMaps['mid_block.attentions.0.transformer_blocks.1.attn2'];
      assert.deepEqual(m.shape, [2, 2, 2, 2]);
      const full = model.forwardWithAttention(x, [10, 20], ctx, { captureAttention: { layers: ['mid_block.attentions.0.transformer_blocks.1.attn2'] } });
      const f = full.attentionMaps['mid_block.attentions.0.transformer_blocks.1.attn2'];
      const picked = tf.concat([tf.slice(f, [0, 0, 0, 3], [-1, -1, -1, 1]), tf.slice(f, [0, 0, 0, 1], [-1, -1, -1, 1])], 3);
      assert.equal(tf.max(tf.abs(tf.sub(m, picked))).dataSync()[0], 0, 'tokens picks columns in the given order');
      assert.throws(() => model.forwardWithAttention(x, [1, 1], ctx, { captureAttention: { layers: ['mid_block.attn2'] } }), /unknown attn2 module\(s\) mid_block\.attn2/);
    }));
  });

  it('should give gradients of an attention-map loss to the trainable K/V weights only (Custom Diffusion subset)', async () => {
    // a model of its own: makeTrainable turns its weights into variables
    const own = randomUNet(sd2Style, 12);
    const before = tf.memory().numTensors;
    const vars = own.store.makeTrainable((n) => /attn2\.to_(k|v)\.weight$/.test(n));
    assert.equal(vars.size, 2 * 14, 'K and V of each of the 14 attn2 modules (2 transformer layers each)');
    assert.ok([...vars.keys()].every((n) => /attn2\.to_[kv]\.weight$/.test(n)));
    const x = randn([2, 8, 8, 4]) as tf.Tensor4D;
    const ctx = randn([2, 5, 12]) as tf.Tensor3D;
    const path = 'up_blocks.1.attentions.0.transformer_blocks.0.attn2';
    const { value, grads } = tf.variableGrads(() => {
      const r = own.forwardWithAttention(x, [100, 900], ctx, { captureAttention: { layers: [path], tokens: [2] } });
      // a DETEX-like loss on one token's map plus the usual noise term
      return tf.add(tf.mean(tf.square(r.attentionMaps[path])), tf.mean(tf.square(r.sample))) as tf.Scalar;
    }, [...vars.values()]);
    const nameOf = new Map([...vars].map(([n, v]) => [v.name, n]));
    assert.deepEqual(Object.keys(grads).map((k) => nameOf.get(k)).sort(), [...vars.keys()].sort(), 'exactly the trainable weights get gradients');
    const kGrad = grads[vars.get(`${path}.to_k.weight`)!.name];
    assert.ok(tf.tidy(() => tf.max(tf.abs(kGrad)).dataSync()[0]) > 0, 'the attention map term reaches to_k');
    tf.dispose([value, x, ctx, ...Object.values(grads)]);
    assert.equal(tf.memory().numTensors, before, 'a training step leaks no tensors');
    own.dispose();
  });

  it('should upsample ×2 by nearest neighbour with a correct gradient for batch 2 (sum over each 2×2 block)', async () => {
    await expectNoLeak(() => tf.tidy(() => {
      const x = tf.tensor4d(Array.from({ length: 2 * 2 * 3 * 2 }, (_, i) => i), [2, 2, 3, 2]);
      const up = upsampleNearest2x(x);
      const ref = tf.image.resizeNearestNeighbor(x, [4, 6]);
      assert.deepEqual(Array.from(up.dataSync()), Array.from(ref.dataSync()));
      const w = tf.tensor4d(Array.from({ length: 2 * 4 * 6 * 2 }, (_, i) => (i * 7) % 11), [2, 4, 6, 2]);
      const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(upsampleNearest2x(a as tf.Tensor4D), w)))(x);
      const wd = w.arraySync() as number[][][][];
      const gd = g.arraySync() as number[][][][];
      for (let b = 0; b < 2; b++)
        for (let i = 0; i < 2; i++)
          for (let j = 0; j < 3; j++)
            for (let c = 0; c < 2; c++) {
              const s = wd[b][2 * i][2 * j][c] + wd[b][2 * i + 1][2 * j][c] + wd[b][2 * i][2 * j + 1][c] + wd[b][2 * i + 1][2 * j + 1][c];
              assert.equal(gd[b][i][j][c], s);
            }
    }));
  });
});
