/**
 * DETEX on a world model's held-out subjects, read by its world attribute classifier (lib/pretrain/detex-eval.ts):
 * does [V] carry the subject's class, colour and pattern into new scenes, does [B_i] bring back photo i's
 * background, and what does the class word alone draw.
 *
 *   DETEX_BACKEND=cpu node dist/scripts/pretrain/detex-eval.js [--model models/detex-mini] [--subjects 0,1,2]
 *     [--steps N] [--options '{"embeddingLearningRate":5e-3}'] [--images 2] [--sample-steps 25] [--work DIR]
 *     [--sheet out.png] [--json out.json] [--guidance G] [--reuse]   (--reuse: --work DIR's concepts are sampled, not retrained)
 *
 * Subjects are indices into the world's HELD_OUT list. Unset DETEX settings come from the model's
 * detex_config.json, else the paper's.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseArgs } from 'util';
import { DetexSession } from '../../lib/engine';
import { initBackend } from '../../lib/backend';
import { HELD_OUT } from '../../lib/world';
import { writePng } from '../../lib/io/image';
import { HostTensor } from '../../lib/io/host-tensor';
import { imageGrid } from '../../lib/bench-quality/grid';
import { loadWorldClassifier } from '../../lib/demo/world-read';
import { evaluateDetexOnWorld, formatDetexEval } from '../../lib/pretrain/detex-eval';
import { writeJsonAtomic } from '../../lib/bench-quality/cache';

async function main(): Promise<void> {
  const root = path.resolve(__dirname, '..', '..', '..');
  const { values: a } = parseArgs({
    options: {
      model: { type: 'string' }, subjects: { type: 'string' }, steps: { type: 'string' }, options: { type: 'string' },
      images: { type: 'string' }, 'sample-steps': { type: 'string' }, work: { type: 'string' }, sheet: { type: 'string' }, json: { type: 'string' },
      guidance: { type: 'string' }, reuse: { type: 'boolean' },
    },
  });
  const model = path.resolve(a.model ?? path.join(root, 'models', 'detex-mini'));
  if (a.reuse && !a.work) throw new Error('--reuse samples the concepts of an earlier run: name its folder with --work DIR');
  if (a.guidance !== undefined && !(Number(a.guidance) >= 1)) throw new Error(`--guidance must be a number ≥ 1, got '${a.guidance}'`);
  const subjects = (a.subjects ?? '0,1,2').split(',').map((x) => {
    const i = Number(x);
    if (!Number.isInteger(i) || i < 0 || i >= HELD_OUT.length) throw new Error(`--subjects: "${x}" is not an index into the ${HELD_OUT.length} held-out subjects`);
    return HELD_OUT[i];
  });
  let options: Record<string, unknown> | undefined;
  if (a.options) {
    try {
      options = JSON.parse(a.options);
    } catch (e) {
      throw new Error(`--options must be a JSON object: ${(e as Error).message}`);
    }
  }
  const session = await DetexSession.open(model, {});
  await initBackend(); // chosen by the session for this model's size
  const classifier = loadWorldClassifier(model);
  if (!classifier) {
    await session.dispose();
    throw new Error(`${model} has no attribute_classifier/ folder to read the images with`);
  }
  const rows: HostTensor[][] = [];
  const t0 = Date.now();
  try {
    const r = await evaluateDetexOnWorld(session, classifier, {
      subjects, workDir: a.work ?? fs.mkdtempSync(path.join(os.tmpdir(), 'detex-eval-')), options,
      steps: a.steps === undefined ? undefined : Number(a.steps), imagesPerPrompt: a.images === undefined ? undefined : Number(a.images),
      sampleSteps: a['sample-steps'] === undefined ? undefined : Number(a['sample-steps']),
      guidance: a.guidance === undefined ? undefined : Number(a.guidance), reuseConcepts: a.reuse === true,
      log: (l) => console.log(l), onImages: (_id, _kind, images) => rows.push(images),
    });
    console.log(`\n${subjects.length} subjects, ${((Date.now() - t0) / 1000).toFixed(0)} s\n${formatDetexEval(r)}`);
    if (a.json) writeJsonAtomic(path.resolve(a.json), { model, subjects, options: options ?? {}, steps: a.steps ?? null, guidance: a.guidance ?? null, ...r });
    if (a.sheet) await writePng(path.resolve(a.sheet), imageGrid(rows));
  } finally {
    classifier.dispose();
    await session.dispose();
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
