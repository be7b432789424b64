/**
 * The fused AdamW step (DetexAdamW, native/src/adamw.cc via lib/detex/adamw.ts) against the composed tfjs ops it
 * replaces, with DETEX_NATIVE_ADAMW=0 as the reference: parameters and both moments over 20 steps, with and
 * without weight decay, on a variable small enough for one thread and one large enough for the pool; one kernel
 * call per variable; a variable without a gradient untouched; no tensor left behind. (Measured: the two paths are
 * bitwise equal; the 1e-6 tolerance only leaves room for a compiler that fuses multiply-adds.)
 */
import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { ADAMW } from '../../lib/backend/native-kernels';
import { AdamW } from '../../lib/detex/adamw';
import { expectNoLeak } from '../helpers/leak';
import { assertClose, nativeKernelToggle } from '../helpers/native-toggle';
import { seededTensor } from '../helpers/seeded-tensor';

// [3, 5]: below the kernel's threading threshold; [300, 257] (77 100 elements): above it (native/src/adamw.cc)
const SHAPES: Record<string, number[]> = { small: [3, 5], large: [300, 257], idle: [4] };
const STEPS = 20;

interface Run { params: Record<string, Float32Array>; m: Record<string, Float32Array>; v: Record<string, Float32Array>; kernels: string[] }

/** STEPS updates from seeded parameters and gradients (none for 'idle'); the last step's kernels are profiled. */
async function train(weightDecay: number): Promise<Run> {
  const vars = new Map(Object.entries(SHAPES).map(([name, shape], i) => {
    const init = seededTensor(shape, 800 + i);
    const p = tf.variable(init, true, `adamw-${name}-${weightDecay}-${Math.random()}`);
    init.dispose();
    return [name, p] as [string, tf.Variable];
  }));
  const opt = new AdamW(vars, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay });
  let kernels: string[] = [];
  for (let t = 0; t < STEPS; t++) {
    // gradients of a few sizes, so the moments see small and large values
    const grads = new Map(['small', 'large'].map((name, i) => [name, seededTensor(SHAPES[name], 900 + 10 * t + i, -(t % 3 + 1), t % 3 + 1)]));
    const lr = 1e-3 * (1 + (t % 4));
    if (t === STEPS - 1) kernels = (await tf.profile(() => opt.apply(grads, lr))).kernels.map((k) => k.name);
    else opt.apply(grads, lr);
    tf.dispose([...grads.values()]);
  }
  const state = opt.getState();
  const read = (src: Map<string, tf.Tensor>) => Object.fromEntries([...src].map(([k, x]) => [k, x.dataSync().slice() as Float32Array]));
  const run = { params: read(vars), m: read(state.m), v: read(state.v), kernels };
  tf.dispose([...state.m.values(), ...state.v.values(), ...vars.values()]);
  opt.dispose();
  return run;
}

describe('fused AdamW kernel (DetexAdamW) vs the composed tfjs ops', function () {
  this.timeout(60000);
  const reload = nativeKernelToggle('DETEX_NATIVE_ADAMW', ADAMW, 'the fused AdamW kernel');

  for (const weightDecay of [0, 0.01]) {
    it(`gives the composed parameters and moments over ${STEPS} steps (weight decay ${weightDecay})`, async () => {
      reload(false);
      const ref = await expectNoLeak(() => train(weightDecay));
      reload(true);
      const got = await expectNoLeak(() => train(weightDecay));
      assert.ok(!ref.kernels.includes(ADAMW), 'reference is composed');
      assert.deepStrictEqual(got.kernels, [ADAMW, ADAMW], 'one kernel call per variable with a gradient');
      for (const name of Object.keys(SHAPES)) {
        assertClose(got.params[name], ref.params[name], 1e-6, `${name} θ`);
        assertClose(got.m[name], ref.m[name], 1e-6, `${name} m`);
        assertClose(got.v[name], ref.v[name], 1e-6, `${name} v`);
      }
      // without a gradient: parameters as initialised, moments still zero
      assert.deepStrictEqual(got.params.idle, seededTensor(SHAPES.idle, 802).dataSync());
      assert.deepStrictEqual([...got.m.idle, ...got.v.idle], new Array(8).fill(0));
    });
  }

  it('refuses a gradient of another shape', () => {
    reload(true);
    const p = tf.variable(tf.zeros([4]), true, `adamw-shape-${Math.random()}`);
    const opt = new AdamW(new Map([['p', p]]), { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
    const g = tf.ones([2, 2]);
    assert.throws(() => opt.apply(new Map([['p', g]]), 1e-3), /AdamW: grad \[2,2\] is not the parameter's shape \[4\]/);
    tf.dispose([g, p]);
    opt.dispose();
  });
});
