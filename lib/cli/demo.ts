/** `detex demo`: the whole DETEX flow on the embedded default detex-mini (or --model), headless, with an HTML report. */
import * as path from 'path';
import { parseArgs } from 'util';
import { runDemo } from '../demo/run';

export const usage =
  'detex demo [--out DIR] [--model DIR] [--subject ID] [--steps N] [--lr X] [--sample-steps N] [--images-per-prompt N] [--seed N]   the whole DETEX flow with an HTML report';

export async function demoCommand(argv: string[]): Promise<number> {
  const { values: a } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string', default: 'out/demo' }, model: { type: 'string' }, subject: { type: 'string' },
      steps: { type: 'string' }, 'sample-steps': { type: 'string' }, 'images-per-prompt': { type: 'string' }, seed: { type: 'string' },
      'class-images': { type: 'string' }, lr: { type: 'string' },
    },
  });
  const num = (s?: string) => (s === undefined ? undefined : Number(s));
  for (const [k, v] of Object.entries({ steps: a.steps, 'sample-steps': a['sample-steps'], 'images-per-prompt': a['images-per-prompt'], seed: a.seed, 'class-images': a['class-images'] })) {
    if (v !== undefined && !(Number.isInteger(Number(v)) && Number(v) >= 0)) {
      console.error(`detex demo: --${k} must be a non-negative integer, got "${v}"`);
      return 2;
    }
  }
  if (a.lr !== undefined && !(Number(a.lr) > 0)) {
    console.error(`detex demo: --lr must be a positive number, got "${a.lr}"`);
    return 2;
  }
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  const t0 = Date.now();
  const cpu0 = process.cpuUsage();
  try {
    const r = await runDemo({
      out: path.resolve(a.out!), model: a.model, subject: a.subject, trainSteps: num(a.steps), sampleSteps: num(a['sample-steps']),
      imagesPerPrompt: num(a['images-per-prompt']), seed: num(a.seed), numClassImages: num(a['class-images']), learningRate: num(a.lr), signal: ac.signal,
    });
    const cpu = process.cpuUsage(cpu0);
    // CPU seconds of this process beside the wall time: on a busy machine the two differ by what others took
    console.log(`done in ${((Date.now() - t0) / 1000).toFixed(0)} s (process CPU ${((cpu.user + cpu.system) / 1e6).toFixed(0)} s): ${r.images.length} images, concept ${r.concept}, report ${r.report}`);
    return 0;
  } finally {
    process.off('SIGINT', stop);
  }
}
