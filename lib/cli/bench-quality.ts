/** `detex bench quality`: the paper's Tables 1 and 3 on the procedural world (lib/bench-quality). */
import { parseArgs } from 'util';
import { runBenchQuality, defaultSettings, defaultBenchModel, BenchSettings } from '../bench-quality';
import { DetexPreset } from '../detex/config';
import { HELD_OUT } from '../world';
import { samplingGuidance } from '../detex/model-defaults';
import { commaList } from './comma-list';

export const usage =
  'bench quality [--quick] [--out bench-quality-out] [--model <folder> (default detex-mini, else detex-tiny)] [--subjects N|id,id] ' +
  '[--methods detex,custom-diffusion,no-mappers,no-attention-loss,no-joint-training] [--seeds 0,1] [--steps N] [--batch N] [--lr X] ' +
  '[--class-images N] [--class-image-steps N] [--images N] [--sample-steps N] [--guidance W (default: the model detex_config.json, else 6)] [--backgrounds N] [--no-attention]';

const num = (v: string | undefined, name: string) => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got "${v}"`);
  return n;
};

export async function benchQualityCommand(argv: string[]): Promise<number> {
  const { values: a } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean' }, out: { type: 'string' }, model: { type: 'string' }, subjects: { type: 'string' }, methods: { type: 'string' },
      seeds: { type: 'string' }, steps: { type: 'string' }, batch: { type: 'string' }, lr: { type: 'string' }, 'class-images': { type: 'string' },
      'class-image-steps': { type: 'string' }, images: { type: 'string' }, 'sample-steps': { type: 'string' }, guidance: { type: 'string' },
      backgrounds: { type: 'string' }, 'no-attention': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (a.help) {
    console.log(`usage: detex ${usage}`);
    return 0;
  }
  const quick = !!a.quick;
  const subjects = a.subjects === undefined ? undefined : /^\d+$/.test(a.subjects) ? HELD_OUT.slice(0, Number(a.subjects)) : commaList(a.subjects);
  const over: Partial<BenchSettings> = {
    subjects, methods: commaList(a.methods) as DetexPreset[] | undefined, seeds: commaList(a.seeds)?.map(Number),
    trainSteps: num(a.steps, 'steps'), batchSize: num(a.batch, 'batch'), learningRate: num(a.lr, 'lr'),
    numClassImages: num(a['class-images'], 'class-images'), classImageSteps: num(a['class-image-steps'], 'class-image-steps'),
    imagesPerPrompt: num(a.images, 'images'), sampleSteps: num(a['sample-steps'], 'sample-steps'), guidance: samplingGuidance(a.model ?? defaultBenchModel().folder, num(a.guidance, 'guidance')),
    backgroundPrompts: num(a.backgrounds, 'backgrounds'),
  };
  const settings = defaultSettings(quick, over);
  const out = a.out ?? (quick ? 'bench-quality-quick' : 'bench-quality');
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const r = await runBenchQuality({ out, model: a.model, settings, signal: ac.signal, noAttention: !!a['no-attention'] });
    console.log(`\n${r.model.meaningful ? '' : '!!! ' + r.model.note + '\n'}wrote ${r.files.html}, ${r.files.markdown}, ${r.files.json}, ${r.files.table}; grids in ${out}/grids/ (${(r.seconds / 60).toFixed(1)} min)`);
    return 0;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
