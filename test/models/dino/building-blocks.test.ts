/** DINO pieces that the fixture does not pin down: config handling, the bicubic rule, other configs. */
import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { HostTensor } from '../../../lib/io/host-tensor';
import { ParamStore } from '../../../lib/nn';
import {
  DINO_PRESETS, DinoVisionTransformer, cubicWeights, dinoPreprocess, interpolatePosEncoding, resolveDinoConfig,
  torchBicubicMatrix, torchBicubicResizeHWC,
} from '../../../lib/models/dino';

/** Random weights with the reference names and PyTorch shapes for a config. */
function randomWeights(cfg: ReturnType<typeof resolveDinoConfig>, seed = 1): Map<string, HostTensor> {
  let s = seed;
  const rnd = () => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648 - 0.5; };
  const m = new Map<string, HostTensor>();
  const add = (name: string, shape: number[], scale = 0.3) => {
    const n = shape.reduce((a, b) => a * b, 1);
    m.set(name, { dtype: 'float32', shape, data: Float32Array.from({ length: n }, () => rnd() * scale) });
  };
  const c = cfg.embed_dim;
  const g = Math.floor(cfg.img_size[0] / cfg.patch_size);
  const hid = Math.trunc(c * cfg.mlp_ratio);
  add('cls_token', [1, 1, c]);
  add('pos_embed', [1, g * g + 1, c]);
  add('patch_embed.proj.weight', [c, cfg.in_chans, cfg.patch_size, cfg.patch_size], 0.1);
  add('patch_embed.proj.bias', [c]);
  for (let i = 0; i < cfg.depth; i++) {
    const p = `blocks.${i}`;
    for (const n of ['norm1', 'norm2']) { add(`${p}.${n}.weight`, [c]); add(`${p}.${n}.bias`, [c]); }
    add(`${p}.attn.qkv.weight`, [3 * c, c]);
    if (cfg.qkv_bias) add(`${p}.attn.qkv.bias`, [3 * c]);
    add(`${p}.attn.proj.weight`, [c, c]); add(`${p}.attn.proj.bias`, [c]);
    add(`${p}.mlp.fc1.weight`, [hid, c]); add(`${p}.mlp.fc1.bias`, [hid]);
    add(`${p}.mlp.fc2.weight`, [c, hid]); add(`${p}.mlp.fc2.bias`, [c]);
  }
  add('norm.weight', [c]); add('norm.bias', [c]);
  return m;
}

describe('models/dino building blocks', () => {
  it('should fill VisionTransformer defaults, warn on unknown keys and reject bad values', () => {
    const warnings: string[] = [];
    const cfg = resolveDinoConfig({ embed_dim: 48, num_heads: 3, depth: 1, foo: 1, _comment: 'x' }, { source: 'c.json', warn: (m) => warnings.push(m) });
    assert.equal(cfg.layer_norm_eps, 1e-5);
    assert.equal(cfg.qkv_bias, false);
    assert.deepEqual(cfg.img_size, [224]);
    assert.deepEqual(warnings, ['DINO config c.json: unknown key "foo" is ignored']);
    assert.throws(() => resolveDinoConfig({ embed_dim: 50, num_heads: 3 }, { source: 'c.json' }), /c.json: embed_dim 50 does not split into num_heads 3/);
    assert.throws(() => resolveDinoConfig({ patch_size: 0 }), /"patch_size" = 0 is not a positive integer/);
    assert.throws(() => resolveDinoConfig({ norm_layer: 'x' }), /layer_norm_eps/);
    assert.equal(DINO_PRESETS.dino_vits8.patch_size, 8);
    assert.equal(DINO_PRESETS.dino_vitb16.embed_dim, 768);
    assert.equal(DINO_PRESETS.dino_vits16.layer_norm_eps, 1e-6);
  });

  it('should use A=-0.75 cubic weights that sum to 1 and keep a constant grid constant', () => {
    for (const t of [0, 0.25, 0.5, 0.9]) assert.ok(Math.abs(cubicWeights(t).reduce((a, b) => a + b) - 1) < 1e-12);
    assert.deepEqual(cubicWeights(0), [0, 1, 0, 0]);
    // 4 → floor(4·6.1/4) = 6 rows; source of row 0 = 0.5/1.525 − 0.5 (negative, taps clamped).
    const m = torchBicubicMatrix(4, 6.1 / 4);
    assert.equal(m.length, 6 * 4);
    for (let r = 0; r < 6; r++) assert.ok(Math.abs(m.slice(r * 4, r * 4 + 4).reduce((a, b) => a + b) - 1) < 1e-12);
    const src = 0.5 / 1.525 - 0.5;
    const w = cubicWeights(src - Math.floor(src));
    assert.ok(Math.abs(m[0] - (w[0] + w[1] + w[2])) < 1e-12 && Math.abs(m[1] - w[3]) < 1e-12);
  });

  it('should copy when the size does not change (torch CPU) but resample a 4x4 grid for a 64x72 image (H != W)', () => {
    const before = tf.memory().numTensors;
    const grid = tf.randomNormal([4, 4, 2]) as tf.Tensor3D;
    const same = torchBicubicResizeHWC(grid, 1.025, 1.025);
    assert.deepEqual(same.dataSync(), grid.dataSync());
    const pos = tf.randomNormal([1, 17, 2]) as tf.Tensor3D;
    const square = interpolatePosEncoding(pos, 72, 72, 16);
    assert.deepEqual(square.dataSync(), pos.dataSync());
    const oblong = interpolatePosEncoding(pos, 64, 72, 16); // grid 4x4 but H != W → the reference interpolates
    assert.deepEqual(oblong.shape, [1, 17, 2]);
    assert.deepEqual(oblong.dataSync(), pos.dataSync(), 'output size equals input size → torch copies');
    const bigger = interpolatePosEncoding(pos, 80, 112, 16);
    assert.deepEqual(bigger.shape, [1, 1 + 5 * 7, 2]);
    tf.dispose([grid, same, pos, square, oblong, bigger]);
    assert.equal(tf.memory().numTensors, before);
  });

  it('should build any config (patch 8, 3 heads, depth 3, no qkv bias, mlp_ratio 2.5) and agree with itself', () => {
    const cfg = resolveDinoConfig({ img_size: [32], patch_size: 8, embed_dim: 24, depth: 3, num_heads: 3, mlp_ratio: 2.5, qkv_bias: false, layer_norm_eps: 1e-6 });
    const before = tf.memory().numTensors;
    const model = new DinoVisionTransformer(cfg, ParamStore.fromHost(randomWeights(cfg)), { warn: (m) => assert.fail(m) });
    const x = tf.randomNormal([2, 40, 24, 3]) as tf.Tensor4D;
    const cls = model.forward(x);
    const layers = model.getIntermediateLayers(x, 2);
    const attn = model.getLastSelfAttention(x);
    assert.deepEqual(cls.shape, [2, 24]);
    assert.equal(layers.length, 2);
    assert.deepEqual(layers[1].shape, [2, 1 + 5 * 3, 24]);
    assert.deepEqual(attn.shape, [2, 3, 16, 16]);
    const clsFromTokens = tf.tidy(() => tf.reshape(tf.slice(layers[1], [0, 0, 0], [2, 1, 24]), [2, 24]));
    assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(cls, clsFromTokens))).dataSync()[0]) < 1e-6);
    assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(tf.sum(attn, -1), 1))).dataSync()[0]) < 1e-5);
    tf.dispose([x, cls, attn, clsFromTokens, ...layers]);
    const four = tf.zeros([1, 32, 32, 4]) as tf.Tensor4D;
    assert.throws(() => model.forward(four), /3 channels, got \[1,32,32,4\]/);
    four.dispose();
    model.dispose();
    assert.equal(tf.memory().numTensors, before, 'no leaks');
  });

  it('should name the parameter and shapes when weights do not fit the config', () => {
    const cfg = resolveDinoConfig({ img_size: [32], patch_size: 8, embed_dim: 24, depth: 1, num_heads: 3 });
    const w = randomWeights({ ...cfg, qkv_bias: true });
    w.delete('blocks.0.mlp.fc2.bias');
    const store = ParamStore.fromHost(w);
    assert.throws(() => new DinoVisionTransformer({ ...cfg, qkv_bias: true }, store), /blocks.0.mlp.fc2.bias/);
    store.dispose();
  });

  it('should preprocess for DINO-I: shorter edge 256, crop 224, ImageNet normalisation', async () => {
    const rgb: HostTensor = { dtype: 'uint8', shape: [300, 400, 3], data: new Uint8Array(300 * 400 * 3).fill(128) };
    const x = await dinoPreprocess(rgb);
    assert.deepEqual(x.shape, [1, 224, 224, 3]);
    const v = x.dataSync();
    assert.ok(Math.abs(v[0] - (128 / 255 - 0.485) / 0.229) < 1e-5);
    x.dispose();
  });
});
