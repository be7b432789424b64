/**
 * The forward-only conv + residual kernel (DetexConv2DAdd, native/src/conv.cc's sum post-op, via
 * Conv2d.applyAdd) against the composed conv, bias Add and residual Add it replaces at inference, with
 * DETEX_NATIVE_CONV_ADD=0 as the reference: 3×3 and 1×1, with and without bias, stride 2, batch 2. Also the
 * choice of path: fused without a gradient tape, composed (with its gradients) under one.
 */
import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { seeded } from '../../bench/inputs';
import { CONV2D_ADD } from '../../lib/backend/native-kernels';
import { hostTensor } from '../../lib/io/host-tensor';
import { Conv2d, ParamStore } from '../../lib/nn';
import { assertClose, nativeKernelToggle } from '../helpers/native-toggle';
import { seededTensor } from '../helpers/seeded-tensor';

// eslint-disable-next-line @typescript-eslint/no-require-imports
require('@tensorflow/tfjs'); // registers the gradients of the composed path's ops

interface Case { name: string; x: [number, number, number, number]; out: number; k: number; stride?: number; padding?: number; bias?: boolean }

const CASES: Case[] = [
  { name: '3×3 pad 1, 16→16 on 1×24×20', x: [1, 24, 20, 16], out: 16, k: 3, padding: 1 },
  { name: '3×3 pad 1, 8→12 on 2×9×7, no bias', x: [2, 9, 7, 8], out: 12, k: 3, padding: 1, bias: false },
  { name: '1×1, 32→16 on 1×16×16', x: [1, 16, 16, 32], out: 16, k: 1 },
  { name: '3×3 stride 2 pad 1, 8→8 on 1×17×17', x: [1, 17, 17, 8], out: 8, k: 3, stride: 2, padding: 1 },
];

function build(c: Case, seed: number): { conv: Conv2d; store: ParamStore } {
  const store = ParamStore.initializing((name, shape) => hostTensor('float32', [...shape], seeded(shape.reduce((a, b) => a * b, 1), seed + name.length, -0.3, 0.3)));
  const conv = new Conv2d(store, 'conv', c.x[3], c.out, c.k, { stride: c.stride, padding: c.padding, bias: c.bias });
  return { conv, store };
}

async function run(c: Case, seed: number): Promise<{ y: Float32Array; kernels: string[] }> {
  const { conv, store } = build(c, seed);
  try {
    let y: Float32Array = new Float32Array(0);
    const info = await tf.profile(() => {
      tf.tidy(() => {
        const x = seededTensor(c.x, seed + 1) as tf.Tensor4D;
        const probe = conv.apply(x);
        const addend = seededTensor(probe.shape, seed + 2, -2, 2) as tf.Tensor4D;
        y = conv.applyAdd(x, addend).dataSync().slice() as Float32Array;
      });
    });
    return { y, kernels: info.kernels.map((k) => k.name) };
  } finally {
    store.dispose();
  }
}

describe('conv + residual kernel (DetexConv2DAdd) vs the composed path', function () {
  this.timeout(60000);
  const reload = nativeKernelToggle('DETEX_NATIVE_CONV_ADD', CONV2D_ADD, 'the conv + residual kernel');

  CASES.forEach((c, i) =>
    it(c.name, async () => {
      reload(false);
      const ref = await run(c, 500 + 10 * i);
      reload(true);
      const got = await run(c, 500 + 10 * i);
      assert.strictEqual(got.kernels.filter((k) => k === CONV2D_ADD).length, 1, got.kernels.join(','));
      assert.ok(!ref.kernels.includes(CONV2D_ADD), 'reference is composed');
      assertClose(got.y, ref.y, 1e-5, 'y');
    }));

  it('runs composed under a gradient tape, with the composed path’s gradients', async () => {
    reload(true);
    const c = CASES[0];
    const { conv, store } = build(c, 600);
    try {
      const x = seededTensor(c.x, 601) as tf.Tensor4D;
      const addend = seededTensor([1, 24, 20, 16], 602) as tf.Tensor4D;
      const w = seededTensor([1, 24, 20, 16], 603);
      const names: string[] = [];
      const info = await tf.profile(() => {
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv.applyAdd(a as tf.Tensor4D, b as tf.Tensor4D), w)))([x, addend]);
        // d/d addend of sum(w ⊙ (addend + conv)) is w itself
        assertClose(g[1].dataSync() as Float32Array, w.dataSync() as Float32Array, 0, 'd addend');
        tf.dispose(g);
      });
      names.push(...info.kernels.map((k) => k.name));
      assert.ok(!names.includes(CONV2D_ADD), `no fused call under a tape: ${names.join(',')}`);
      tf.dispose([x, addend, w]);
    } finally {
      store.dispose();
    }
  });
});
