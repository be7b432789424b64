/** bench/kernel-profile.ts: how a profiled step's kernel records become the dominant kernels a bench row names. */
import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { formatKernels, profileStep, summarizeKernels } from '../../bench/kernel-profile';

describe('bench kernel profile', () => {
  it('groups records by kernel, longest total first, with shares of the kernel time and call counts', () => {
    const r = summarizeKernels([
      { name: 'Add', kernelTimeMs: 1 }, { name: 'Conv2D', kernelTimeMs: 5 }, { name: 'Add', kernelTimeMs: 2 },
      { name: 'Reshape', kernelTimeMs: { error: 'not timed' } },
    ], () => true);
    assert.deepStrictEqual(r.kernels, [
      { name: 'Conv2D', ms: 5, share: 5 / 8, calls: 1 },
      { name: 'Add', ms: 3, share: 3 / 8, calls: 2 },
      { name: 'Reshape', ms: 0, share: 0, calls: 1 },
    ]);
    assert.strictEqual(r.kernelMs, 8);
    assert.strictEqual(r.calls, 4);
    assert.strictEqual(r.scopes, 0);
  });

  it('leaves out composite scopes, whose time is that of the kernels nested in them', () => {
    const r = summarizeKernels([
      { name: 'unnamed scope', kernelTimeMs: 4 }, { name: 'DetexGroupNorm', kernelTimeMs: 4 }, { name: 'fusedConv2d__op', kernelTimeMs: 6 },
      { name: 'FusedConv2D', kernelTimeMs: 6 },
    ], (n) => !n.includes('scope') && !n.endsWith('__op'));
    assert.deepStrictEqual(r.kernels.map((k) => [k.name, k.share]), [['FusedConv2D', 0.6], ['DetexGroupNorm', 0.4]]);
    assert.strictEqual(r.scopes, 2);
    assert.strictEqual(r.calls, 2);
  });

  it('profiles a step on the active backend: tf.fused and customGrad wrappers are not counted as kernels', async () => {
    const x = tf.ones([2, 4, 4, 3]), w = tf.ones([3, 3, 3, 2]), b = tf.ones([2]);
    const r = await profileStep(() => tf.dispose(tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 1, pad: 'same', bias: b })));
    tf.dispose([x, w, b]);
    assert.ok(r.kernels.some((k) => k.name === 'FusedConv2D'), JSON.stringify(r.kernels));
    assert.ok(r.kernels.every((k) => tf.getKernel(k.name, tf.getBackend()) !== undefined));
    assert.ok(Math.abs(r.kernels.reduce((s, k) => s + k.share, 0) - 1) < 1e-9 || r.kernelMs === 0);
  });

  it('formats kernels as the bench prints them under a row', () => {
    assert.strictEqual(formatKernels([{ name: 'Conv2D', ms: 35.06, share: 0.284, calls: 33 }, { name: 'Add', ms: 2, share: 0.05, calls: 4 }]),
      'Conv2D 35.1 ms (28%, 33 calls); Add 2.0 ms (5%, 4 calls)');
  });
});
