/**
 * One bench row in this process: median wall and CPU time (user + system, all threads) per step. CPU time
 * is what to compare on a shared machine, where wall time swings with other processes' load; alternate runs
 * of two trees (or env settings) for an A/B.
 *
 *   node dist/bench/cpu-time.js <substring of the row name> [runs=7] [warmup=2]
 * Backend: cpu+native unless DETEX_BACKEND says otherwise.
 */
import * as os from 'os';
import { initBackend } from '../lib/backend';
import { withRow } from './one-row';

async function main(): Promise<void> {
  const [match, runsArg = '7', warmupArg = '2'] = process.argv.slice(2);
  if (!match) throw new Error('usage: cpu-time.js <row substring> [runs] [warmup]');
  process.env.DETEX_BACKEND ??= 'cpu';
  await initBackend();
  await withRow(match, async (c, p) => {
    for (let i = 0; i < Number(warmupArg); i++) await p.step();
    const wall: number[] = [], cpu: number[] = [];
    for (let i = 0; i < Number(runsArg); i++) {
      const t = performance.now(), u = process.cpuUsage();
      await p.step();
      const d = process.cpuUsage(u);
      wall.push(performance.now() - t);
      cpu.push((d.user + d.system) / 1000);
    }
    const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
    console.log(`${c.name}\twall ${med(wall).toFixed(1)} ms\tcpu ${med(cpu).toFixed(1)} ms\tload ${os.loadavg()[0].toFixed(1)}`);
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
