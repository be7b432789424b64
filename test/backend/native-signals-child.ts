/**
 * Child process of native-signals.test.ts, run under `node --cpu-prof` with a fast sampling interval:
 * V8's sampler interrupts the main thread with SIGPROF while native kernels run. Before the signal guard
 * (native/src/signal-guard.h) a signal landing inside one of oneDNN's sgemm kernels wrote its frame over
 * the heap and glibc aborted the process ("corrupted size vs. prev_size"). Prints `ok <calls> <checksum>`;
 * `skip <reason>` when the addon is not built.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// the union package registers the gradients (tfjs-core's CommonJS bundle alone does not)
import '@tensorflow/tfjs';
import { loadNativeKernels, setMinNativeElements } from '../../lib/backend/native-kernels';
import { scaledDotProductAttention } from '../../lib/nn/attention';

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  const r = loadNativeKernels();
  if (!r.loaded) {
    console.log(`skip ${r.reason}`);
    return;
  }
  setMinNativeElements(0);
  const ms = Number(process.env.DETEX_SIGNAL_TEST_MS ?? 2500);
  let seed = 7;
  const next = (n: number) => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return 1 + ((seed >>> 8) % n);
  };
  let calls = 0, checksum = 0;
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    // matmuls of assorted small shapes: oneDNN takes its JIT sgemm kernels for many of them
    const m = next(160), n = next(160), k = next(160);
    const s = tf.tidy(() => {
      const c = tf.matMul(tf.fill([m, k], 0.5), tf.fill([k, n], 0.25));
      // every call exact: each entry is k / 8
      const v = c.dataSync();
      if (v[0] !== k / 8 || v[v.length - 1] !== k / 8) throw new Error(`matmul ${m}x${k}x${n} gave ${v[0]}`);
      return v[0];
    });
    checksum += s;
    calls++;
    if (calls % 16 === 0) {
      // the fused attention kernel runs sgemm inside its own OpenMP region, forward and backward
      tf.tidy(() => {
        const q = tf.fill([2, 37, 16], 0.1), kv = tf.fill([2, 29, 16], 0.2);
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(scaledDotProductAttention(a as tf.Tensor3D, b as tf.Tensor3D, b as tf.Tensor3D, { heads: 2 }).out))([q, kv]);
        g.forEach((t) => t.dataSync());
      });
      calls++;
    }
  }
  console.log(`ok ${calls} ${checksum}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
