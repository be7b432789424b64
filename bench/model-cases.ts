/**
 * Model rows added for issue 6 (continued): full-UNet training, the 50-step guided sample and the DETEX step
 * on the embedded default model, and the SD v1.5-sized UNet forward (opt-in: --sd15). Each step returns the
 * numbers bench/reference.py also returns (NHWC output, or [loss, Σ‖grad‖²] for training) so run.ts can
 * compare them. Models are required lazily so a broken model costs only its own rows.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { readTidy } from './read-tidy';
import type { BenchCase, InputSpec, Prepared } from './cases';
import { readInput } from './inputs';
import { sd15Dir } from './sd15';

const quiet = { warn: () => {} };
const load = (dir: string, s: InputSpec) => tf.tensor(readInput(dir, s.name), s.shape);

/** The random-weight detex-tiny (the DETEX step and the tiny-model rows); DETEX_TINY_MODEL overrides. */
export function tinyModelDir(): string {
  return process.env.DETEX_TINY_MODEL ?? path.resolve(__dirname, '..', '..', 'models', 'detex-tiny');
}

/** The embedded default model, detex-mini (the 50-step sample row, as the issue asks); DETEX_DEFAULT_MODEL overrides. */
export function defaultModelDir(): string {
  return process.env.DETEX_DEFAULT_MODEL ?? path.resolve(__dirname, '..', '..', 'models', 'detex-mini');
}

function unetConfigOf(dir: string): { size: number; dim: number } {
  const c = JSON.parse(fs.readFileSync(path.join(dir, 'unet', 'config.json'), 'utf8'));
  return { size: c.sample_size, dim: c.cross_attention_dim };
}
const tinyUnetConfig = () => unetConfigOf(tinyModelDir());

/** loss and Σ‖g‖² (in double): independent of weight layouts, so comparable with PyTorch's. */
export function lossAndGradNorm(value: tf.Scalar, grads: tf.Tensor[]): Float32Array {
  let sq = 0;
  for (const g of grads) for (const v of g.dataSync()) sq += v * v;
  return Float32Array.from([value.dataSync()[0], sq]);
}

/** A UNet training step on sd-tiny where `trainable` picks the variables (K/V only, or everything). */
export function unetTrainCase(name: string, trainable: (n: string) => boolean, fixtures: () => string): BenchCase {
  const x = { name: 'unet_x', shape: [2, 32, 32, 4], seed: 20 };
  const ctx = { name: 'unet_ctx', shape: [2, 77, 32], seed: 21 };
  const target = { name: 'unet_target', shape: [2, 32, 32, 4], seed: 22 };
  return {
    name, inputs: [x, ctx, target], reference: true,
    prepare(dir): Prepared {
      const { UNet2DConditionModel } = require('../lib/models/unet/unet');
      const model = UNet2DConditionModel.load(path.join(fixtures(), 'sd-tiny', 'unet'), quiet);
      const vars: Map<string, tf.Variable> = model.store.makeTrainable(trainable);
      const varList = [...vars.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v);
      const [xt, ct, tt] = [x, ctx, target].map((s) => load(dir, s));
      return {
        step: () => tf.tidy(() => {
          const { value, grads } = tf.variableGrads(() =>
            tf.mean(tf.squaredDifference(model.forward(xt as tf.Tensor4D, [500, 500], ct as tf.Tensor3D), tt)) as tf.Scalar, varList);
          return lossAndGradNorm(value, varList.map((v) => grads[v.name]));
        }),
        dispose: () => { [xt, ct, tt].forEach((t) => t.dispose()); model.dispose(); },
      };
    },
  };
}

/** 50 DDIM steps with classifier-free guidance 7.5, then the VAE decode: lib/pipelines/sample as the engine runs it. */
export function sampleCase(): BenchCase {
  const { size, dim } = unetConfigOf(defaultModelDir());
  const z = { name: 'sample_z', shape: [1, size, size, 4], seed: 30, lo: -2, hi: 2 };
  const c = { name: 'sample_ctx', shape: [1, 77, dim], seed: 31 };
  const n = { name: 'sample_neg', shape: [1, 77, dim], seed: 32 };
  return {
    name: 'sample detex-mini (embedded default), 50 DDIM steps, guidance 7.5', inputs: [z, c, n], reference: true,
    prepare(dir): Prepared {
      const { UNet2DConditionModel } = require('../lib/models/unet/unet');
      const { AutoencoderKL } = require('../lib/models/vae/autoencoder-kl');
      const { DDIMScheduler } = require('../lib/schedulers/ddim');
      const { sample } = require('../lib/pipelines/sample');
      const d = defaultModelDir();
      const unet = UNet2DConditionModel.load(path.join(d, 'unet'), quiet);
      const vae = AutoencoderKL.load(path.join(d, 'vae'), quiet);
      const scheduler = DDIMScheduler.fromConfig(JSON.parse(fs.readFileSync(path.join(d, 'scheduler', 'scheduler_config.json'), 'utf8')), () => {});
      const [zt, ct, nt] = [z, c, n].map((s) => load(dir, s));
      return {
        step: async () => {
          const r = await sample({ unet, vae, scheduler, promptEmbeds: ct, negativeEmbeds: nt, latents: zt, steps: 50, guidanceScale: 7.5 });
          // images in [0, 1] (clamped), as the reference maps its decoder output too
          const img = r.images as tf.Tensor;
          const data = img.dataSync() as Float32Array;
          Object.values(r).forEach((t) => t instanceof tf.Tensor && t.dispose());
          return data;
        },
        dispose: () => { [zt, ct, nt].forEach((t) => t.dispose()); unet.dispose(); vae.dispose(); },
      };
    },
  };
}

/** One DetexTrainer step on the embedded model (2 subject images, defaults otherwise, no prior images). */
export function detexCase(): BenchCase {
  const { size, dim } = tinyUnetConfig();
  // the torch row's inputs (K/V + context step on the same UNet)
  const inputs = [{ name: 'detex_x', shape: [2, size, size, 4], seed: 40 }, { name: 'detex_target', shape: [2, size, size, 4], seed: 41 },
    { name: 'detex_ctx', shape: [2, 77, dim], seed: 42 }];
  return {
    name: 'DETEX training step detex-tiny (torch: K/V + context step)', inputs, reference: true, noCompare: true,
    prepare(): Prepared {
      const { UNet2DConditionModel } = require('../lib/models/unet/unet');
      const { AutoencoderKL } = require('../lib/models/vae/autoencoder-kl');
      const { DDIMScheduler } = require('../lib/schedulers/ddim');
      const { CLIPTokenizer } = require('../lib/models/clip/tokenizer');
      const { loadCLIPTextModel, loadCLIPVisionModel } = require('../lib/models/clip/loader');
      const { CLIPImageProcessor } = require('../lib/models/clip/image-processor');
      const { imageEncoderAdapter, textEncoderAdapter } = require('../lib/detex/model-adapters');
      const { DetexTrainer } = require('../lib/detex/trainer');
      const { resolveDetexConfig } = require('../lib/detex/config');
      const { squares } = require('./squares');
      const d = tinyModelDir();
      const unet = UNet2DConditionModel.load(path.join(d, 'unet'), quiet);
      const vae = AutoencoderKL.load(path.join(d, 'vae'), quiet);
      const scheduler = DDIMScheduler.fromConfig(JSON.parse(fs.readFileSync(path.join(d, 'scheduler', 'scheduler_config.json'), 'utf8')), () => {});
      const text = loadCLIPTextModel(path.join(d, 'text_encoder'), quiet);
      const vision = loadCLIPVisionModel(path.join(d, 'image_encoder'), quiet);
      const processor = CLIPImageProcessor.fromFile(path.join(d, 'image_encoder', 'preprocessor_config.json'), () => {});
      const tokenizer = CLIPTokenizer.fromFolder(path.join(d, 'tokenizer'));
      const config = resolveDetexConfig({ classWord: 'dog', initWord: 'dog', batchSize: 2, steps: 1000, lambdaPr: 0, seed: 3 });
      const trainer = new DetexTrainer({ unet, vae, scheduler, tokenizer, textEncoder: textEncoderAdapter(text), imageEncoder: imageEncoderAdapter(vision, processor) },
        { config, items: squares(2, size * vae.scaleFactor), warn: () => {} });
      return {
        step: () => { const l = trainer.trainStep(); return Float32Array.from([l.total]); },
        dispose: () => { trainer.dispose(); unet.dispose(); vae.dispose(); text.dispose(); vision.dispose(); },
      };
    },
  };
}

/** UNet with SD v1.5's real config and seeded random weights (bench/sd15.ts writes them once), forward at 64×64. */
export function sd15Case(): BenchCase {
  const x = { name: 'sd15_x', shape: [1, 64, 64, 4], seed: 50 };
  const c = { name: 'sd15_ctx', shape: [1, 77, 768], seed: 51 };
  return {
    name: 'UNet forward SD v1.5 config (random weights), latent 1×64×64×4', inputs: [x, c], reference: true, sd15: true,
    prepare(dir): Prepared {
      const { UNet2DConditionModel } = require('../lib/models/unet/unet');
      const model = UNet2DConditionModel.load(sd15Dir(), quiet);
      const [xt, ct] = [x, c].map((s) => load(dir, s));
      return {
        step: () => readTidy(() => model.forward(xt as tf.Tensor4D, [500], ct as tf.Tensor3D)),
        dispose: () => { xt.dispose(); ct.dispose(); model.dispose(); },
      };
    },
  };
}
