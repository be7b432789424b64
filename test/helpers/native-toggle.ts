/**
 * For tests of a fused native kernel against the composed path it replaces: hooks that switch to the cpu
 * backend with native kernels loaded (skipping the suite when the addon lacks the kernel) and restore the
 * previous state after, a `reload(fused)` that reloads the kernels with the kernel's environment switch on or
 * off, and a comparison of two outputs relative to the reference's scale.
 */
import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { loadNativeKernels, nativeKernelStatus, unloadNativeKernels } from '../../lib/backend/native-kernels';

/** Call inside a describe(): `env` set to '0' unregisters `kernel` (and its siblings); `what` names them in the skip message. */
export function nativeKernelToggle(env: string, kernel: string, what: string): (fused: boolean) => void {
  let previousBackend = '';
  let wasLoaded = false;
  const savedEnv = process.env[env];

  before(async function () {
    previousBackend = tf.getBackend();
    wasLoaded = nativeKernelStatus().loaded;
    await tf.setBackend('cpu');
    const r = loadNativeKernels();
    if (!r.loaded || !r.kernels.includes(kernel)) {
      console.log(`    skipped: ${what} not available (${r.reason ?? `addon built before ${kernel}`})`);
      this.skip();
    }
  });
  after(async () => {
    if (savedEnv === undefined) delete process.env[env];
    else process.env[env] = savedEnv;
    unloadNativeKernels();
    if (wasLoaded) loadNativeKernels();
    if (previousBackend) await tf.setBackend(previousBackend);
  });

  return (fused: boolean) => {
    if (fused) delete process.env[env];
    else process.env[env] = '0';
    unloadNativeKernels();
    const r = loadNativeKernels();
    assert.ok(r.loaded, r.reason);
    assert.strictEqual(r.kernels.includes(kernel), fused);
  };
}

/** max |got − want| ≤ tol · max(1, max |want|), naming the worst element. */
export function assertClose(got: Float32Array, want: Float32Array, tol: number, what: string): void {
  assert.strictEqual(got.length, want.length, `${what} length`);
  let scale = 1, worst = 0, at = -1;
  for (const v of want) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= worst)) { worst = d; at = i; }
  }
  assert.ok(worst <= tol * scale, `${what}: max |diff| ${worst} at ${at} (${got[at]} vs ${want[at]}) > ${tol} · ${scale}`);
}
