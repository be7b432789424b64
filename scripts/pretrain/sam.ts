/**
 * Pretrains detex-mini's SAM on world renders with exact masks: point, box and point-pair prompts (SAM
 * paper losses, see lib/pretrain/sam-model.ts), exports `sam/` (config.json + F16 model.safetensors) and
 * measures held-out mIoU per prompt kind at every checkpoint. Resumable:
 *
 *   node dist/scripts/pretrain/sam.js --minutes 20        # continues where it stopped
 *   node dist/scripts/pretrain/sam.js --eval-only
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../lib/backend';
import { evalScenes, exportComponent, parseRunArgs, refuseToOverwriteTrained, runLoop, worldBatch } from '../../lib/pretrain';
import { loadCheckpoint } from '../../lib/pretrain/checkpoint';
import { MINI_SAM_CONFIG, SAM_IMAGE_SIZE } from '../../lib/pretrain/sam-config';
import { PromptKind, promptFor } from '../../lib/pretrain/sam-data';
import { MiniSam, sceneImages, sceneMasks } from '../../lib/pretrain/sam-model';
import { samMeanIoU } from '../../lib/pretrain/sam-eval';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const SEED = 7101;
const BATCH = 16;
const EVAL_N = 256;
const EVAL_SEED = 4343;
/** Half the batch single points (multimask), a quarter boxes, a quarter positive + negative points. */
const GROUPS: Array<[PromptKind, number]> = [['point', 0.5], ['box', 0.25], ['points2', 0.25]];

async function main(): Promise<void> {
  const args = parseRunArgs('sam', ROOT, { 'eval-only': { type: 'boolean' }, batch: { type: 'string' } });
  if (!args.rest['eval-only']) refuseToOverwriteTrained(args, 'checkpoint.safetensors', ['sam']);
  const info = await initBackend();
  console.log(`backend ${info.backend} (${info.provider})`);
  const model = new MiniSam(SEED);
  const batch = Number(args.rest.batch ?? BATCH);
  const held = evalScenes(EVAL_N, EVAL_SEED, { size: SAM_IMAGE_SIZE }).scenes;

  const evaluate = (step: number) => {
    const t0 = Date.now();
    const r = samMeanIoU(model, held, EVAL_SEED);
    fs.mkdirSync(args.cache, { recursive: true });
    fs.appendFileSync(path.join(args.cache, 'eval.jsonl'), JSON.stringify({ step, ...r, ms: Date.now() - t0 }) + '\n');
    const f = (x: number) => x.toFixed(3);
    console.log(`held-out mIoU @${step} (n=${r.n}): point ${f(r.point)} (best of 3: ${f(r.pointOracle)}) box ${f(r.box)} point+negative ${f(r.points2)}`);
  };

  if (args.rest['eval-only']) {
    const { step } = loadCheckpoint(path.join(args.cache, 'checkpoint.safetensors'), model.vars);
    evaluate(step);
    model.dispose();
    return;
  }

  await runLoop({
    dir: args.cache,
    vars: model.vars,
    seed: SEED,
    schedule: { lr: 1e-3, warmupSteps: 30, totalSteps: args.steps ?? 600 },
    adam: { weightDecay: 0.01 },
    clipNorm: 1,
    checkpointEvery: 100,
    minutes: args.minutes,
    maxSteps: args.maxSteps,
    handleSignals: true,
    metadata: { component: 'sam', batch: String(batch) },
    loss: ({ rng }) => {
      const { scenes } = worldBatch(rng.fork('scenes'), { batch, size: SAM_IMAGE_SIZE });
      const prng = rng.fork('prompts');
      const emb = model.embed(sceneImages(scenes));
      const truth = sceneMasks(scenes);
      let mask: tf.Tensor = tf.scalar(0);
      let iou: tf.Tensor = tf.scalar(0);
      let start = 0;
      GROUPS.forEach(([kind, share], g) => {
        const n = g === GROUPS.length - 1 ? batch - start : Math.round(batch * share);
        const prompts = scenes.slice(start, start + n).map((s) => promptFor(s, kind, prng));
        const e = tf.slice(emb, [start, 0, 0, 0], [n, -1, -1, -1]) as tf.Tensor4D;
        const t = tf.slice(truth, [start, 0, 0, 0], [n, -1, -1, -1]) as tf.Tensor4D;
        const l = model.groupLoss(e, prompts, t);
        mask = tf.add(mask, l.mask);
        iou = tf.add(iou, l.iou);
        start += n;
      });
      const maskLoss = tf.div(mask, batch) as tf.Scalar;
      const iouLoss = tf.div(iou, batch) as tf.Scalar;
      return { loss: tf.add(maskLoss, iouLoss) as tf.Scalar, logs: { mask: maskLoss, iou: iouLoss } };
    },
    onCheckpoint: (step) => {
      const bytes = exportComponent(path.join(args.out, 'sam'), MINI_SAM_CONFIG, model.sam.store, {
        weightsFile: 'model.safetensors',
        metadata: { step: String(step), seed: String(SEED) },
      });
      console.log(`exported sam (${(bytes / 1e6).toFixed(2)} MB) at step ${step}`);
      evaluate(step);
    },
    print: (l) => console.log(l),
  });
  model.dispose();
}

main().catch((e: Error) => {
  console.error(`pretrain sam: ${e.stack ?? e.message}`);
  process.exit(1);
});
