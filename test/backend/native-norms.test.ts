/**
 * The fused GroupNorm(+SiLU) and LayerNorm kernels (native/src/norm.cc) against lib/nn/norms.ts' unfused
 * tfjs path: outputs and the gradients of x, γ and β, on seeded inputs, with and without the fused kernels
 * registered (DETEX_NATIVE_NORM=0 reloads without them). Also: the fused kernels really run, and nothing leaks.
 */
import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { GROUP_NORM, LAYER_NORM } from '../../lib/backend/native-kernels';
import { silu } from '../../lib/nn/activations';
import { GroupNorm, LayerNorm } from '../../lib/nn/norms';
import { ParamStore } from '../../lib/nn/params';
import { seededInitializer } from '../../lib/nn/init';
import { assertClose, nativeKernelToggle } from '../helpers/native-toggle';
import { seededTensor } from '../helpers/seeded-tensor';

// eslint-disable-next-line @typescript-eslint/no-require-imports
require('@tensorflow/tfjs'); // registers the gradients of the unfused path's ops

type Norm = { kind: 'group'; groups: number; affine: boolean; silu: boolean } | { kind: 'layer' };

interface Run { y: Float32Array; grads: Record<string, Float32Array>; kernels: string[] }

/** Output and gradients of Σ(norm(x)·w) for x, γ, β, with whatever kernels are registered now. */
async function run(norm: Norm, shape: number[], seed: number, offset: number): Promise<Run> {
  const c = shape[shape.length - 1];
  const store = ParamStore.initializing(seededInitializer(seed));
  const layer = norm.kind === 'group' ? new GroupNorm(store, 'n', norm.groups, c, 1e-5, { affine: norm.affine }) : new LayerNorm(store, 'n', c, 1e-5);
  const affine = norm.kind === 'layer' || norm.affine;
  if (affine) {
    store.set('n.weight', seededTensor([c], seed + 1, 0.5, 1.5));
    store.set('n.bias', seededTensor([c], seed + 2, -0.5, 0.5));
  }
  const params = store.makeTrainable(() => true);
  const x0 = tf.tidy(() => tf.add(seededTensor(shape, seed + 3, -2, 2), offset));
  const x = tf.variable(x0, true, `x${seed}`);
  x0.dispose();
  const w = seededTensor(shape, seed + 4);
  const f = () => (layer instanceof GroupNorm && norm.kind === 'group' && norm.silu ? layer.applyThen(x, silu) : layer.apply(x));
  try {
    const y = tf.tidy(() => f().dataSync().slice() as Float32Array);
    const vars: tf.Variable[] = [x, ...params.values()];
    let grads: Record<string, Float32Array> = {};
    const prof = await tf.profile(() => {
      tf.tidy(() => {
        const r = tf.variableGrads(() => tf.sum(tf.mul(f(), w)) as tf.Scalar, vars);
        grads = Object.fromEntries(Object.entries(r.grads).map(([k, g]) => [k.startsWith('x') ? 'x' : k.split('#')[0], g.dataSync().slice() as Float32Array]));
      });
    });
    return { y, grads, kernels: prof.kernelNames };
  } finally {
    x.dispose();
    w.dispose();
    store.dispose();
  }
}

describe('fused group norm (+SiLU) and layer norm kernels vs the unfused path', function () {
  this.timeout(120000);
  const reload = nativeKernelToggle('DETEX_NATIVE_NORM', GROUP_NORM, 'the fused norm kernels');

  const cases: Array<{ norm: Norm; shape: number[]; offset?: number; name: string }> = [
    { name: 'group 8, SiLU, [2,8,8,32]', norm: { kind: 'group', groups: 8, affine: true, silu: true }, shape: [2, 8, 8, 32] },
    { name: 'group 8, no SiLU, [2,8,8,32]', norm: { kind: 'group', groups: 8, affine: true, silu: false }, shape: [2, 8, 8, 32] },
    { name: 'group 4, no affine, SiLU, tokens [3,13,12]', norm: { kind: 'group', groups: 4, affine: false, silu: true }, shape: [3, 13, 12] },
    { name: 'group 4, no affine, no SiLU, [1,13,11,16]', norm: { kind: 'group', groups: 4, affine: false, silu: false }, shape: [1, 13, 11, 16] },
    { name: 'group 32, SiLU, [2,32,32,64] (threaded)', norm: { kind: 'group', groups: 32, affine: true, silu: true }, shape: [2, 32, 32, 64] },
    { name: 'group 2, SiLU, mean 50 ≫ spread, [2,6,6,8]', norm: { kind: 'group', groups: 2, affine: true, silu: true }, shape: [2, 6, 6, 8], offset: 50 },
    { name: 'layer [2,77,32]', norm: { kind: 'layer' }, shape: [2, 77, 32] },
    { name: 'layer [3,5,300]', norm: { kind: 'layer' }, shape: [3, 5, 300] },
    { name: 'layer [64,600] (threaded)', norm: { kind: 'layer' }, shape: [64, 600] },
    { name: 'layer [1,1,8], mean 50', norm: { kind: 'layer' }, shape: [1, 1, 8], offset: 50 },
  ];

  cases.forEach((c, i) => {
    it(`${c.name}: output and gradients of x, γ, β`, async () => {
      reload(false);
      const ref = await run(c.norm, c.shape, 100 + i * 10, c.offset ?? 0);
      reload(true);
      const got = await run(c.norm, c.shape, 100 + i * 10, c.offset ?? 0);
      const fused = c.norm.kind === 'group' ? GROUP_NORM : LAYER_NORM;
      assert.ok(got.kernels.includes(fused) && got.kernels.includes(`${fused}Grad`), `fused kernels ran: ${got.kernels.join(',')}`);
      assert.ok(!ref.kernels.includes(fused), 'reference is unfused');
      assertClose(got.y, ref.y, 1e-4, 'y');
      assert.deepStrictEqual(Object.keys(got.grads).sort(), Object.keys(ref.grads).sort());
      for (const k of Object.keys(ref.grads)) assertClose(got.grads[k], ref.grads[k], 2e-4, `d${k}`);
    });
  });

  it('leaves no tensors behind (forward and gradients, group and layer)', async () => {
    reload(true);
    const before = tf.memory().numTensors;
    await run({ kind: 'group', groups: 4, affine: true, silu: true }, [2, 4, 4, 8], 7, 0);
    await run({ kind: 'group', groups: 4, affine: false, silu: false }, [2, 4, 4, 8], 8, 0);
    await run({ kind: 'layer' }, [2, 3, 8], 9, 0);
    assert.strictEqual(tf.memory().numTensors, before);
    // and inside one tidy, only the result survives
    const store = ParamStore.initializing(seededInitializer(1));
    const gn = new GroupNorm(store, 'g', 2, 8, 1e-5);
    const x = seededTensor([1, 3, 3, 8], 3);
    const n0 = tf.memory().numTensors;
    const y = gn.applyThen(x, silu);
    assert.strictEqual(tf.memory().numTensors, n0 + 1);
    y.dispose();
    x.dispose();
    store.dispose();
  });
});
