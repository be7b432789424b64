/**
 * Which kernels dominate a bench row: runs the row's step once to warm up, then once under tf.profile,
 * and prints the kernels by total time (and calls). Used to name the kernel behind a row that stays far
 * from PyTorch.
 *
 *   node dist/bench/profile.js <substring of the row name> [native|wasm] [top=12]
 */
import * as os from 'os';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../lib/backend';
import { withRow } from './one-row';

async function main(): Promise<void> {
  const [match, mode = 'native', topArg = '12'] = process.argv.slice(2);
  process.env.DETEX_BACKEND = mode === 'wasm' ? 'wasm' : 'cpu';
  await initBackend();
  await withRow(match, async (c, p) => {
    await p.step();
    const t0 = performance.now();
    const info = await tf.profile(async () => { await p.step(); });
    const wall = performance.now() - t0;
    const by = new Map<string, { ms: number; calls: number }>();
    for (const k of info.kernels) {
      const e = by.get(k.name) ?? { ms: 0, calls: 0 };
      e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      e.calls++;
      by.set(k.name, e);
    }
    const rows = [...by.entries()].sort((a, b) => b[1].ms - a[1].ms);
    const total = rows.reduce((s, [, e]) => s + e.ms, 0);
    console.log(`${c.name} (${mode}): wall ${wall.toFixed(0)} ms under the profiler, kernels ${total.toFixed(0)} ms in ${info.kernels.length} calls, load ${os.loadavg()[0].toFixed(1)}`);
    for (const [name, e] of rows.slice(0, Number(topArg))) {
      console.log(`  ${name.padEnd(26)} ${e.ms.toFixed(1).padStart(9)} ms ${(100 * e.ms / total).toFixed(1).padStart(5)}%  ${e.calls} calls`);
    }
  });
}

main().catch((e) => { console.error(e); process.exitCode = 1; });
