/**
 * Runs ONE bench row on ONE backend in this process and prints `RESULT {json}` (so peak RSS is that
 * row's own). Spawned by bench/run.ts:
 *   node dist/bench/worker.js <native|wasm|js> <case index> <inputs dir> <runs> <warmup> [<output file>]
 * With an output file, the last step's result is written there (raw float32) for run.ts to compare.
 * native = the pure-JS cpu backend with our native kernels; js = the same without them.
 */
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../lib/backend';
import { CASES } from './cases';

async function main(): Promise<void> {
  const [mode, index, dir, runsArg, warmupArg, outFile] = process.argv.slice(2);
  process.env.DETEX_BACKEND = mode === 'wasm' ? 'wasm' : 'cpu';
  if (mode === 'js') process.env.DETEX_NATIVE = '0';
  const info = await initBackend();
  const provider = info.provider;
  if (mode === 'native' && provider !== 'cpu+native') throw new Error(`native kernels not loaded: ${info.skipped.join('; ')}`);
  const c = CASES[Number(index)];
  const prepared = await c.prepare(dir);
  const before = tf.memory().numTensors;
  for (let i = 0; i < Number(warmupArg); i++) await prepared.step();
  const ms: number[] = [];
  let last: Float32Array | void = undefined;
  for (let i = 0; i < Number(runsArg); i++) {
    const t0 = performance.now();
    last = await prepared.step();
    ms.push(performance.now() - t0);
  }
  if (outFile && last) fs.writeFileSync(outFile, Buffer.from(last.buffer, last.byteOffset, last.byteLength));
  const leaked = tf.memory().numTensors - before;
  prepared.dispose();
  const peakMiB = process.resourceUsage().maxRSS / 1024;
  console.log('RESULT ' + JSON.stringify({ case: c.name, mode, provider, ms, leaked, peak_mib: Math.round(peakMiB) }));
}

main().catch((e) => {
  console.log('RESULT ' + JSON.stringify({ error: (e as Error).message.split('\n')[0] }));
  process.exitCode = 0;
});
