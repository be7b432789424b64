/**
 * The forward-only fused encoder block (native/src/encoder-block.cc via lib/nn/encoder-block.ts) against the
 * composed tfjs path it replaces at inference: CLIP encoders (separate q/k/v, causal and padding masks, each
 * activation) and segment-anything image encoders (fused qkv, windows with and without padding, global
 * attention, rel-pos on/off), on seeded random weights, with DETEX_NATIVE_BLOCK=0 as the reference. Also: the
 * choice of path — fused without a gradient tape, composed (same gradients) under one — and no leaks.
 */
import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { seeded } from '../../bench/inputs';
import { ENCODER_BLOCK } from '../../lib/backend/native-kernels';
import { hostTensor } from '../../lib/io/host-tensor';
import { CLIPEncoder, EncoderDims, FLOAT32_MIN } from '../../lib/models/clip/encoder';
import { samConfigFrom } from '../../lib/models/sam/config';
import { ImageEncoderViT } from '../../lib/models/sam/image-encoder';
import { Initializer, ParamStore } from '../../lib/nn/params';
import { assertClose, nativeKernelToggle } from '../helpers/native-toggle';
import { seededTensor } from '../helpers/seeded-tensor';

// eslint-disable-next-line @typescript-eslint/no-require-imports
require('@tensorflow/tfjs'); // registers the gradients of the composed path's ops

/** Every parameter random (biases and norm scales too, so each input of the kernel matters), seeded by name. */
function randomInit(seed: number): Initializer {
  return (name, shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    let h = seed;
    for (let i = 0; i < name.length; i++) h = (Math.imul(h, 31) + name.charCodeAt(i)) >>> 0;
    const leaf = name.slice(name.lastIndexOf('.') + 1);
    const scale = shape.length >= 2 && leaf === 'weight' ? 1 / Math.sqrt(shape.slice(1).reduce((a, b) => a * b, 1)) : 0.5;
    const [lo, hi] = shape.length === 1 && leaf === 'weight' ? [0.5, 1.5] : [-scale, scale];
    return hostTensor('float32', [...shape], seeded(n, h, lo, hi));
  };
}

/** Causal mask [1, 1, n, n], plus padding of the last `pad[b]` keys of row b when given ([B, 1, n, n]). */
function mask(n: number, pad?: number[]): tf.Tensor4D {
  const b = pad ? pad.length : 1;
  const v = new Float32Array(b * n * n);
  for (let bi = 0; bi < b; bi++)
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) if (j > i || (pad && j >= n - pad[bi])) v[(bi * n + i) * n + j] = FLOAT32_MIN;
  return tf.tensor4d(v, [b, 1, n, n]);
}

interface Run { y: Float32Array; kernels: string[] }

async function profiled(f: () => tf.Tensor): Promise<Run> {
  let y: Float32Array = new Float32Array(0);
  const info = await tf.profile(() => {
    tf.tidy(() => {
      y = f().dataSync().slice() as Float32Array;
    });
  });
  return { y, kernels: info.kernels.map((k) => k.name) };
}

interface ClipCase { name: string; dims: EncoderDims; shape: [number, number, number]; mask?: 'causal' | number[] }
interface SamCase { name: string; cfg: Record<string, unknown>; batch?: number }

const CLIP_CASES: ClipCase[] = [
  { name: 'clip-text-tiny sizes x=[2,77,32] heads=4 F=37 quick_gelu, causal', dims: { hidden: 32, intermediate: 37, heads: 4, layers: 2, eps: 1e-5, act: 'quick_gelu' }, shape: [2, 77, 32], mask: 'causal' },
  { name: 'x=[3,13,24] heads=3 F=40 gelu, causal + padding [0,4,12]', dims: { hidden: 24, intermediate: 40, heads: 3, layers: 1, eps: 1e-5, act: 'gelu' }, shape: [3, 13, 24], mask: [0, 4, 12] },
  { name: 'x=[2,9,16] heads=2 F=20 gelu_new, no mask (vision tower)', dims: { hidden: 16, intermediate: 20, heads: 2, layers: 2, eps: 1e-6, act: 'gelu_new' }, shape: [2, 9, 16] },
  { name: 'x=[1,130,8] heads=1 F=5 silu, causal (three query blocks)', dims: { hidden: 8, intermediate: 5, heads: 1, layers: 1, eps: 1e-5, act: 'silu' }, shape: [1, 130, 8], mask: 'causal' },
  { name: 'x=[2,40,64] heads=8 F=256 quick_gelu, causal (threaded sizes)', dims: { hidden: 64, intermediate: 256, heads: 8, layers: 1, eps: 1e-5, act: 'quick_gelu' }, shape: [2, 40, 64], mask: 'causal' },
];

const SAM_BASE = {
  image_size: 128, vit_patch_size: 16, encoder_embed_dim: 32, encoder_depth: 2, encoder_num_heads: 2, encoder_global_attn_indexes: [1],
  window_size: 3, encoder_mlp_ratio: 4, encoder_qkv_bias: true, encoder_use_rel_pos: true, encoder_layer_norm_eps: 1e-6, prompt_embed_dim: 32,
};
const SAM_CASES: SamCase[] = [
  { name: 'sam-tiny sizes: grid 8×8, window 3 (padded to 9×9), then global; rel-pos, qkv bias', cfg: {} },
  { name: 'grid 6×6, window 4 (padded to 8×8), heads 4, no qkv bias, global first', cfg: { image_size: 96, window_size: 4, encoder_num_heads: 4, encoder_qkv_bias: false, encoder_global_attn_indexes: [0] } },
  { name: 'grid 5×5, window 5 (no padding), no rel-pos, mlp ratio 2.5, dim 24, heads 3', cfg: { image_size: 80, window_size: 5, encoder_use_rel_pos: false, encoder_mlp_ratio: 2.5, encoder_embed_dim: 24, encoder_num_heads: 3, prompt_embed_dim: 16 } },
  { name: 'x=[2,144,144,3]: grid 9×9, window 2 (padded to 10×10), then global', cfg: { image_size: 144, window_size: 2, encoder_depth: 3, encoder_global_attn_indexes: [2] }, batch: 2 },
];

function clipRun(c: ClipCase, seed: number): tf.Tensor {
  const store = ParamStore.initializing(randomInit(seed));
  try {
    const enc = new CLIPEncoder(store, 'enc', c.dims);
    return tf.tidy(() => {
      const x = seededTensor(c.shape, seed + 1, -2, 2) as tf.Tensor3D;
      const bias = c.mask === undefined ? undefined : mask(c.shape[1], c.mask === 'causal' ? undefined : c.mask);
      return enc.apply(x, bias, false).out;
    });
  } finally {
    store.dispose();
  }
}

function samEncoder(c: SamCase, seed: number): { enc: ImageEncoderViT; store: ParamStore; size: number } {
  const cfg = samConfigFrom({ ...SAM_BASE, ...c.cfg }, () => {});
  const store = ParamStore.initializing(randomInit(seed));
  return { enc: new ImageEncoderViT(store, 'image_encoder', cfg), store, size: cfg.image_size };
}

function samRun(c: SamCase, seed: number): tf.Tensor {
  const { enc, store, size } = samEncoder(c, seed);
  try {
    return tf.tidy(() => enc.apply(seededTensor([c.batch ?? 1, size, size, 3], seed + 1, -2, 2) as tf.Tensor4D));
  } finally {
    store.dispose();
  }
}

describe('fused encoder block (DetexEncoderBlock) vs the composed path', function () {
  this.timeout(120000);
  const reload = nativeKernelToggle('DETEX_NATIVE_BLOCK', ENCODER_BLOCK, 'the fused encoder block');

  const check = async (run: () => tf.Tensor, blocks: number) => {
    reload(false);
    const ref = await profiled(run);
    reload(true);
    const got = await profiled(run);
    assert.strictEqual(got.kernels.filter((k) => k === ENCODER_BLOCK).length, blocks, `one fused call per block: ${got.kernels.join(',')}`);
    assert.ok(!ref.kernels.includes(ENCODER_BLOCK), 'reference is composed');
    assertClose(got.y, ref.y, 2e-5, 'y');
  };

  describe('CLIP encoder layers', () => {
    CLIP_CASES.forEach((c, i) => it(c.name, () => check(() => clipRun(c, 300 + i * 10), c.dims.layers)));
  });

  describe('segment-anything image-encoder blocks', () => {
    SAM_CASES.forEach((c, i) => it(c.name, () => check(() => samRun(c, 400 + i * 10), (c.cfg.encoder_depth as number | undefined) ?? 2)));

  });

  describe('which path runs: fused only without a gradient tape', () => {
    const c = CLIP_CASES[1];
    const lossOf = (store: ParamStore, enc: CLIPEncoder, x: tf.Tensor3D) => {
      const bias = mask(c.shape[1]);
      const w = seededTensor(c.shape, 9);
      return tf.sum(tf.mul(enc.apply(x, bias, false).out, w)) as tf.Scalar;
    };
    const gradients = async () => {
      const store = ParamStore.initializing(randomInit(77));
      const enc = new CLIPEncoder(store, 'enc', c.dims);
      const params = store.makeTrainable((n) => n.includes('fc1') || n.includes('q_proj'));
      const x = tf.variable(seededTensor(c.shape, 78), true, 'block-x');
      try {
        let out: Record<string, Float32Array> = {};
        const info = await tf.profile(() => {
          tf.tidy(() => {
            const { grads } = tf.variableGrads(() => lossOf(store, enc, x as tf.Tensor3D), [x, ...params.values()]);
            out = Object.fromEntries(Object.entries(grads).map(([k, g]) => [k.split('#')[0], g.dataSync().slice() as Float32Array]));
          });
        });
        return { grads: out, kernels: info.kernels.map((k) => k.name) };
      } finally {
        x.dispose();
        store.dispose();
      }
    };

    it('under tf.variableGrads: the composed ops run and the gradients are the composed path\'s', async () => {
      reload(false);
      const ref = await gradients();
      reload(true);
      const got = await gradients();
      assert.ok(!got.kernels.includes(ENCODER_BLOCK), 'no fused block under a tape');
      assert.deepStrictEqual(Object.keys(got.grads).sort(), Object.keys(ref.grads).sort());
      assert.ok(Object.keys(got.grads).length >= 3);
      for (const k of Object.keys(ref.grads)) assertClose(got.grads[k], ref.grads[k], 1e-6, `d${k}`);
    });

    it('without a tape (and after one): the fused kernel runs', async () => {
      reload(true);
      await gradients();
      const r = await profiled(() => clipRun(c, 5));
      assert.ok(r.kernels.includes(ENCODER_BLOCK), r.kernels.join(','));
    });
  });

  it('leaves no tensors behind (CLIP and SAM, fused and composed)', async () => {
    for (const fused of [true, false]) {
      reload(fused);
      const before = tf.memory().numTensors;
      tf.dispose([clipRun(CLIP_CASES[1], 1), samRun(SAM_CASES[1], 2)]);
      assert.strictEqual(tf.memory().numTensors, before, `fused=${fused}`);
    }
  });
});
