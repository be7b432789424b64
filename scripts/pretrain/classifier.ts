/**
 * Trains detex-mini's world attribute classifier (lib/metrics/world-attributes.ts: class, body colour,
 * pattern, background) on augmented train-split renders (lib/pretrain/classifier-data.ts), exports
 * `<out>/attribute_classifier/` (config.json + F16 model.safetensors) at every checkpoint, and measures
 * per-attribute accuracy on held-out-identity renders and on fresh train-split renders every --eval-every
 * steps; --eval-only scores the exported folder on those and on the held-out renders after a detex-mini VAE
 * round trip (`<cache>/eval.jsonl`). Resumable:
 *
 *   DETEX_BACKEND=cpu node dist/scripts/pretrain/classifier.js --minutes 10     # continues where it stopped
 *   DETEX_BACKEND=cpu node dist/scripts/pretrain/classifier.js --eval-only      # scores the exported folder
 *   flags: --batch N (32), --steps N (total, fixes the lr schedule; 220), --eval-n N (256), --eval-every N (100),
 *          --warm-start (no checkpoint: continue from the exported classifier)
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../lib/backend';
import { AutoencoderKL } from '../../lib/models/vae/autoencoder-kl';
import { CHECKPOINT_FILE, evalScenes, exportComponent, initialStore, evalInterval, parseRunArgs, refuseToOverwriteTrained, runLoop } from '../../lib/pretrain';
import { classifierBatch } from '../../lib/pretrain/classifier-data';
import { AttributeScores, classifierScores, vaeRoundTrip } from '../../lib/pretrain/classifier-eval';
import {
  ATTRIBUTE_CLASSIFIER_WEIGHTS, WORLD_ATTRIBUTES, WorldAttributeClassifier, attributeClassifierConfig,
} from '../../lib/metrics/world-attributes';
import { HostTensor } from '../../lib/io/host-tensor';

const CHECKPOINT_EVERY = 50;

const SEED = 7301;
const EVAL_SEED = 4343;
const FOLDER = 'attribute_classifier';
const LABEL_SMOOTHING = 0.05;

/** Mean cross-entropy of logits [B, K] against label indices, with label smoothing. */
function crossEntropy(logits: tf.Tensor2D, labels: Int32Array, smoothing: number): tf.Scalar {
  const k = logits.shape[1];
  const target = tf.add(tf.mul(tf.oneHot(tf.tensor1d(labels, 'int32'), k), 1 - smoothing), smoothing / k);
  return tf.neg(tf.mean(tf.sum(tf.mul(target, tf.logSoftmax(logits)), 1))) as tf.Scalar;
}

async function main(): Promise<void> {
  const root = path.resolve(__dirname, '..', '..', '..');
  const args = parseRunArgs('classifier', root, {
    'eval-only': { type: 'boolean' }, batch: { type: 'string' }, 'eval-n': { type: 'string' }, 'eval-every': { type: 'string' },
  });
  if (!args.rest['eval-only']) refuseToOverwriteTrained(args, CHECKPOINT_FILE, [FOLDER]);
  const info = await initBackend();
  console.log(`backend ${info.backend} (${info.provider})`);
  const batch = Number(args.rest.batch ?? 32);
  const evalN = Number(args.rest['eval-n'] ?? 256);
  const evalEvery = evalInterval('classifier', args.rest['eval-every'], 100, CHECKPOINT_EVERY);
  const evalOnly = Boolean(args.rest['eval-only']);
  const outDir = path.join(args.out, FOLDER);

  const config = attributeClassifierConfig();
  const start = evalOnly ? undefined : initialStore(args, CHECKPOINT_FILE, path.join(outDir, 'model.safetensors'), SEED);
  if (start?.warmFrom) console.log(`warm start from ${start.warmFrom}`);
  const store = start?.store;
  const model = store ? new WorldAttributeClassifier(store, config) : WorldAttributeClassifier.load(outDir);
  console.log(`attribute classifier: ${(model.parameterCount / 1e3).toFixed(1)}k parameters, batch ${batch}`);

  // Evaluation sets: held-out identities (as rendered, and after a VAE round trip), fresh train-split renders.
  const held = evalScenes(evalN, EVAL_SEED, { size: config.image_size }).scenes;
  const train = evalScenes(evalN, EVAL_SEED + 1, { size: config.image_size, split: 'train' }).scenes;
  let heldVae: HostTensor[] | undefined;
  const vaeDir = path.join(args.out, 'vae');
  const roundTrips = (): HostTensor[] | undefined => {
    if (heldVae || !fs.existsSync(vaeDir)) return heldVae;
    const t0 = Date.now();
    const vae = AutoencoderKL.load(vaeDir);
    heldVae = vaeRoundTrip(vae, held.map((s) => s.image));
    vae.dispose();
    console.log(`VAE round trips of ${held.length} held-out renders: ${Date.now() - t0} ms`);
    return heldVae;
  };

  const fmt = (s: AttributeScores) => WORLD_ATTRIBUTES.map((a) => `${a} ${s[a].toFixed(3)}`).join(', ');
  const evaluate = (step: number, withVae: boolean) => {
    const t0 = Date.now();
    const images = (sc: typeof held) => sc.map((s) => s.image);
    const heldout = classifierScores(model, images(held), held);
    const rt = withVae ? roundTrips() : undefined;
    const heldoutVae = rt ? classifierScores(model, rt, held) : undefined;
    const trainSplit = classifierScores(model, images(train), train);
    fs.mkdirSync(args.cache, { recursive: true });
    fs.appendFileSync(path.join(args.cache, 'eval.jsonl'), JSON.stringify({ step, heldout, heldoutVae, train: trainSplit, ms: Date.now() - t0, time: new Date().toISOString() }) + '\n');
    console.log(`eval @${step} (n=${held.length}) held-out: ${fmt(heldout)}`);
    if (heldoutVae) console.log(`eval @${step} held-out after VAE round trip: ${fmt(heldoutVae)}`);
    console.log(`eval @${step} train-split renders: ${fmt(trainSplit)}`);
  };

  if (evalOnly) {
    evaluate(Number(JSON.parse(fs.readFileSync(path.join(outDir, 'config.json'), 'utf8'))._detex_step ?? -1), true);
    model.dispose();
    return;
  }

  const vars = store!.makeTrainable(() => true);
  const result = await runLoop({
    dir: args.cache,
    vars,
    seed: SEED,
    schedule: { lr: 2e-3, warmupSteps: 20, totalSteps: args.steps ?? 220, minRatio: 0.05 },
    adam: { weightDecay: 1e-2 },
    clipNorm: 2,
    checkpointEvery: CHECKPOINT_EVERY,
    minutes: args.minutes,
    maxSteps: args.maxSteps,
    handleSignals: true,
    metadata: { component: FOLDER, batch: String(batch) },
    print: (l) => console.log(l),
    onCheckpoint: (step) => {
      const bytes = exportComponent(outDir, { ...config, _detex_step: step, _detex_note: 'trained by scripts/pretrain/classifier.ts; see TRAINING.md' }, store!, {
        weightsFile: ATTRIBUTE_CLASSIFIER_WEIGHTS,
        metadata: { step: String(step), seed: String(SEED) },
      });
      console.log(`exported ${FOLDER} (${(bytes / 1e3).toFixed(0)} kB) at step ${step}`);
      if (step % evalEvery === 0) evaluate(step, false);
    },
    loss: ({ rng }) => {
      const b = classifierBatch(rng, { batch, size: config.image_size });
      const logits = model.logits(tf.tensor4d(b.images, [batch, config.image_size, config.image_size, 3]));
      const parts = Object.fromEntries(WORLD_ATTRIBUTES.map((a) => [a, crossEntropy(logits[a], b.labels[a], LABEL_SMOOTHING)])) as Record<string, tf.Scalar>;
      const loss = tf.div(tf.addN(Object.values(parts)), WORLD_ATTRIBUTES.length) as tf.Scalar;
      return { loss, logs: parts };
    },
  });
  console.log(`done: step ${result.step} (${result.stoppedBy}), recent loss ${result.recentLoss.toFixed(4)}`);
  model.dispose();
}

main().catch((e: Error) => {
  console.error(`pretrain/classifier: ${e.stack ?? e.message}`);
  process.exit(1);
});
