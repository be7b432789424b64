/**
 * Text-to-image evaluation of an exported model folder (no checkpoint, no training cache): samples the fixed
 * train-split captions of lib/pretrain/t2i-eval.ts with the folder's unet/vae/text_encoder/scheduler and
 * prints the oracle's background/colour scores and, when `<model>/attribute_classifier/` exists, the world
 * attribute classifier's class / colour / pattern / background accuracy, each next to the same measurement
 * on the real renders of those captions (the ceiling).
 *
 *   DETEX_BACKEND=cpu node dist/scripts/pretrain/t2i-eval.js [--model models/detex-mini] [--n 36]
 *     [--steps 20] [--guidance 4] [--seed 11] [--sheet out.png] [--json out.json] [--likelihood N] [--denoise N]
 *     [--only class=ball,colour=blue,background=studio]
 *
 * `--likelihood N` also runs the diffusion-classifier probe (lib/pretrain/likelihood-probe.ts) on N
 * train-split renders: which class / colour / pattern / background the UNet's noise prediction favours,
 * i.e. what it knows whether or not its samples show it. Every run also prints the text encoder's attribute
 * separation (lib/pretrain/text-separation.ts): how far each attribute's word moves the UNet's conditioning.
 * `--denoise N` measures how well the UNet cleans N noised train renders under their captions (x0 error over the
 * latent std per timestep, lib/pretrain/denoise-probe.ts). `--only` draws the captions (and both probes' renders)
 * from a narrowed world (lib/world/scene-filter.ts).
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../lib/backend';
import { readComponentConfig, weightFiles } from '../../lib/io/diffusers-folder';
import { SafetensorsReader } from '../../lib/io/safetensors';
import { writePng } from '../../lib/io/image';
import { formatLikelihood, probeModelLikelihood } from '../../lib/pretrain/likelihood-probe';
import { WorldAttributeClassifier } from '../../lib/metrics/world-attributes';
import { UNet2DConditionModel } from '../../lib/models/unet/unet';
import { AutoencoderKL } from '../../lib/models/vae/autoencoder-kl';
import { evaluateT2I, formatT2IScores } from '../../lib/pretrain/t2i-eval';
import { TextConditioner } from '../../lib/pretrain/text-cond';
import { attributeSeparation } from '../../lib/pretrain/text-separation';
import { DDIMScheduler } from '../../lib/schedulers/ddim';
import { parseSceneFilter } from '../../lib/world/scene-filter';
import { formatDenoising, probeSceneDenoising } from '../../lib/pretrain/denoise-probe';
import { evalScenes } from '../../lib/pretrain/world-data';

async function main(): Promise<void> {
  const root = path.resolve(__dirname, '..', '..', '..');
  const { values } = parseArgs({
    options: {
      model: { type: 'string' }, n: { type: 'string' }, steps: { type: 'string' }, guidance: { type: 'string' },
      seed: { type: 'string' }, sheet: { type: 'string' }, json: { type: 'string' }, likelihood: { type: 'string' },
      only: { type: 'string' }, denoise: { type: 'string' },
    },
  });
  const only = values.only === undefined ? undefined : parseSceneFilter(values.only);
  const model = path.resolve(values.model ?? path.join(root, 'models', 'detex-mini'));
  for (const c of ['unet', 'vae', 'scheduler']) {
    if (!fs.existsSync(path.join(model, c))) throw new Error(`${model} has no ${c}/ folder`);
  }
  const info = await initBackend();
  console.log(`backend ${info.backend} (${info.provider}); model ${model}`);
  // which export is scored (the pretraining scripts stamp their step into the weights' metadata)
  const meta = (dir: string) => {
    const r = SafetensorsReader.open(weightFiles(path.join(model, dir))[0]);
    const m = r.metadata;
    r.close();
    return m;
  };
  const unetMeta = meta('unet');
  const unet = UNet2DConditionModel.load(path.join(model, 'unet'));
  const vae = AutoencoderKL.load(path.join(model, 'vae'));
  const scheduler = DDIMScheduler.fromConfig(readComponentConfig(path.join(model, 'scheduler')));
  const text = TextConditioner.load(model, path.join(root, 'models', 'detex-tiny', 'tokenizer'));
  const clsDir = path.join(model, 'attribute_classifier');
  const classifier = fs.existsSync(clsDir) ? WorldAttributeClassifier.load(clsDir) : undefined;
  if (!classifier) console.log(`no ${clsDir}: oracle scores only`);
  const clsStep = classifier ? meta('attribute_classifier').step : undefined;
  console.log(`unet step ${unetMeta.step ?? '?'}${classifier ? `, attribute classifier step ${clsStep ?? '?'}` : ''}`);
  try {
    const t0 = Date.now();
    const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
    const { scores, sheet } = await evaluateT2I({
      unet, vae, scheduler, text, classifier,
      n: num(values.n), steps: num(values.steps), guidance: num(values.guidance), seed: num(values.seed), only,
    });
    for (const l of formatT2IScores(scores)) console.log(l);
    console.log(`text ${text.identity}; ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const separation = attributeSeparation((c) => text.embed(c));
    console.log(`text separation (relative move of last_hidden_state per word swap): ${Object.entries(separation).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ')}`);
    const nProbe = num(values.likelihood) ?? 0;
    let likelihood: ReturnType<typeof probeModelLikelihood> | undefined;
    if (nProbe > 0) {
      const t1 = Date.now();
      likelihood = probeModelLikelihood({ unet, vae, text, scheduler }, nProbe, { only });
      console.log(`likelihood probe on ${nProbe} train renders (${((Date.now() - t1) / 1000).toFixed(1)} s):`);
      for (const l of formatLikelihood(likelihood)) console.log('  ' + l);
    }
    const nDenoise = num(values.denoise) ?? 0;
    let denoising: ReturnType<typeof probeSceneDenoising> | undefined;
    if (nDenoise > 0) {
      const scenes = evalScenes(nDenoise, 99, { split: 'train', only }).scenes;
      denoising = probeSceneDenoising({
        encode: (images) => vae.encodeLatents(images),
        predict: (x, t, captions) => tf.tidy(() => unet.forward(x, t, text.embed(captions))),
        scheduler,
      }, scenes);
      console.log(`denoising ${nDenoise} train renders, x0 error / latent std: ${formatDenoising(denoising)}`);
    }
    if (values.sheet) await writePng(values.sheet, sheet);
    if (values.json) fs.writeFileSync(values.json, JSON.stringify({ model, only: values.only, unetStep: unetMeta.step, classifierStep: clsStep, text: text.identity, separation, ...scores, likelihood, denoising }, null, 2) + '\n');
  } finally {
    unet.dispose();
    vae.dispose();
    text.dispose();
    classifier?.dispose();
  }
}

main().catch((e: Error) => {
  console.error(`t2i-eval: ${e.stack ?? e.message}`);
  process.exit(1);
});
