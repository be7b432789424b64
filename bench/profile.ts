/**
 * Which kernels dominate a bench row: runs the row's step once to warm up, then once under tf.profile,
 * and prints the kernels by total time (and calls). Used to name the kernel behind a row that stays far
 * from PyTorch; bench/run.ts runs it for every such row. The last line, `PROFILE {json}`, is the same
 * top kernels for a program to read (name, ms, share, calls).
 *
 *   node dist/bench/profile.js <row name, or a substring of it> [native|wasm] [top=12]
 */
import * as os from 'os';
import { initBackend } from '../lib/backend';
import { profileStep } from './kernel-profile';
import { withRow } from './one-row';

async function main(): Promise<void> {
  const [match, mode = 'native', topArg = '12'] = process.argv.slice(2);
  process.env.DETEX_BACKEND = mode === 'wasm' ? 'wasm' : 'cpu';
  await initBackend();
  await withRow(match, async (c, p) => {
    await p.step();
    const r = await profileStep(() => p.step());
    const top = r.kernels.slice(0, Number(topArg));
    console.log(`${c.name} (${mode}): wall ${r.wallMs.toFixed(0)} ms under the profiler, kernels ${r.kernelMs.toFixed(0)} ms in ${r.calls} calls` +
      ` (${r.scopes} composite scopes, which nest them, left out), load ${os.loadavg()[0].toFixed(1)}`);
    for (const k of top) {
      console.log(`  ${k.name.padEnd(26)} ${k.ms.toFixed(1).padStart(9)} ms ${(100 * k.share).toFixed(1).padStart(5)}%  ${k.calls} calls`);
    }
    console.log('PROFILE ' + JSON.stringify({ name: c.name, mode, kernels: top }));
  });
}

main().catch((e) => { console.error(e); process.exitCode = 1; });
