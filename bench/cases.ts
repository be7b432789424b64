/**
 * The bench rows. Each has the inputs both sides read (bench/inputs.ts), our tfjs step, and a name
 * bench/reference.py knows when PyTorch has an equivalent. Layout: NHWC / [B, N, C] as in lib/.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { readInput } from './inputs';
import { readTidy } from './read-tidy';
import { hostTensor } from '../lib/io/host-tensor';
import { silu } from '../lib/nn/activations';
import { GroupNorm } from '../lib/nn/norms';
import { ParamStore } from '../lib/nn/params';
import { detexCase, sampleCase, sd15Case, unetTrainCase } from './model-cases';

export interface InputSpec { name: string; shape: number[]; seed: number; lo?: number; hi?: number }

export interface BenchCase {
  name: string;
  /** floating-point operations of one step (multiply-add = 2), for GFLOP/s; omitted where not meaningful */
  flop?: number;
  inputs: InputSpec[];
  /** PyTorch has the same row in bench/reference.py */
  reference: boolean;
  /** outputs are not the same computation on both sides (the row is timed only) */
  noCompare?: boolean;
  /** the SD v1.5-sized row: only with --sd15 (writes 3.4 GB of weights once, minutes per run) */
  sd15?: boolean;
  /** builds what the step needs (outside the timing) and returns it */
  prepare(dir: string): Promise<Prepared> | Prepared;
}

export interface Prepared {
  /** one timed step; must leave no tensors behind. Returns its result's numbers for the comparison with PyTorch. */
  step(): Float32Array | void | Promise<Float32Array | void>;
  dispose(): void;
}

const t = (dir: string, s: InputSpec) => tf.tensor(readInput(dir, s.name), s.shape);

function kernelCase(name: string, flop: number | undefined, inputs: InputSpec[], f: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[]): BenchCase {
  return {
    name, flop, inputs, reference: true,
    prepare(dir) {
      const xs = inputs.map((s) => t(dir, s));
      return {
        // Read after the scope closes (see read-tidy.ts for why).
        step: () => {
          const out = tf.tidy(() => f(...xs));
          const all = Array.isArray(out) ? out : [out];
          try {
            return all[0].dataSync() as Float32Array;
          } finally {
            tf.dispose(all);
          }
        },
        dispose: () => xs.forEach((x) => x.dispose()),
      };
    },
  };
}

/** Shared test fixtures (tiny models with real configs); DETEX_FIXTURES overrides. */
export function fixturesDir(): string | undefined {
  const candidates = [process.env.DETEX_FIXTURES, path.resolve(__dirname, '..', '..', '..', 'shared', 'fixtures'),
    path.resolve(__dirname, '..', '..', 'shared', 'fixtures')];
  return candidates.find((d) => d && fs.existsSync(path.join(d, 'sd-tiny')));
}

function needFixtures(): string {
  const d = fixturesDir();
  if (!d) throw new Error('fixtures not found (set DETEX_FIXTURES to the shared/fixtures folder)');
  return d;
}

// Models are required lazily so a missing or half-written model costs only its own rows.
/* eslint-disable @typescript-eslint/no-require-imports */
function modelCase(name: string, inputs: InputSpec[], build: (dir: string, fixtures: string) => Prepared): BenchCase {
  return { name, inputs, reference: true, prepare: (dir) => build(dir, needFixtures()) };
}

const conv = { x: { name: 'conv_x', shape: [2, 64, 64, 320], seed: 1 }, w: { name: 'conv_w', shape: [3, 3, 320, 320], seed: 2, lo: -0.05, hi: 0.05 } };
const CONV_FLOP = 2 * 2 * 64 * 64 * 320 * 320 * 9;

export const CASES: BenchCase[] = [
  kernelCase('matmul 2048³ (peak sgemm)', 2 * 2048 ** 3,
    [{ name: 'mm2048_a', shape: [2048, 2048], seed: 3 }, { name: 'mm2048_b', shape: [2048, 2048], seed: 4 }],
    (a, b) => tf.matMul(a, b)),
  kernelCase('matmul 1024³', 2 * 1024 ** 3,
    [{ name: 'mm_a', shape: [1024, 1024], seed: 5 }, { name: 'mm_b', shape: [1024, 1024], seed: 6 }],
    (a, b) => tf.matMul(a, b)),
  kernelCase('conv 3×3 (2,64,64,320)→320', CONV_FLOP, [conv.x, conv.w],
    (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same')),
  kernelCase('conv 3×3 (2,64,64,320)→320 fwd+bwd', 3 * CONV_FLOP, [conv.x, conv.w],
    (x, w) => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same')))([x, w])),
  kernelCase('self-attention 16×1024×40', 2 * (2 * 16 * 1024 * 1024 * 40),
    [{ name: 'q', shape: [16, 1024, 40], seed: 7 }, { name: 'k', shape: [16, 1024, 40], seed: 8 }, { name: 'v', shape: [16, 1024, 40], seed: 9 }],
    (q, k, v) => tf.matMul(tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(40))), v)),
  kernelCase('group norm 32 + SiLU (2,64,64,320)', undefined,
    [{ name: 'gn_x', shape: [2, 64, 64, 320], seed: 10 }, { name: 'gn_g', shape: [320], seed: 11 }, { name: 'gn_b', shape: [320], seed: 12 }],
    (x, g, b) => {
      // the library's GroupNorm then SiLU (lib/nn/norms.ts): one fused kernel where the backend has it
      const store = ParamStore.initializing(() => hostTensor('float32', [320], new Float32Array(320)));
      const norm = new GroupNorm(store, 'gn', 32, 320, 1e-5);
      store.set('gn.weight', g.clone());
      store.set('gn.bias', b.clone());
      return norm.applyThen(x, silu);
    }),

  modelCase('UNet forward sd-tiny, latent 2×32×32×4, ctx 2×77×32',
    [{ name: 'unet_x', shape: [2, 32, 32, 4], seed: 20 }, { name: 'unet_ctx', shape: [2, 77, 32], seed: 21 }],
    (dir, fx) => {
      const { UNet2DConditionModel } = require('../lib/models/unet/unet');
      const model = UNet2DConditionModel.load(path.join(fx, 'sd-tiny', 'unet'), { warn: () => {} });
      const x = t(dir, { name: 'unet_x', shape: [2, 32, 32, 4], seed: 20 }) as tf.Tensor4D;
      const ctx = t(dir, { name: 'unet_ctx', shape: [2, 77, 32], seed: 21 }) as tf.Tensor3D;
      return {
        step: () => readTidy(() => model.forward(x, [500, 500], ctx)),
        dispose: () => { x.dispose(); ctx.dispose(); model.dispose(); },
      };
    }),
  unetTrainCase('UNet training step sd-tiny (attn2 K/V trainable), latent 2×32×32×4', (n) => /attn2\.to_[kv]\.weight$/.test(n), needFixtures),
  unetTrainCase('UNet training step sd-tiny (full UNet, as pretraining), latent 2×32×32×4', () => true, needFixtures),
  modelCase('VAE decode sd-tiny, latent 1×32×32×4',
    [{ name: 'vae_z', shape: [1, 32, 32, 4], seed: 23 }],
    (dir, fx) => {
      const { AutoencoderKL } = require('../lib/models/vae/autoencoder-kl');
      const vae = AutoencoderKL.load(path.join(fx, 'sd-tiny', 'vae'), { warn: () => {} });
      const z = t(dir, { name: 'vae_z', shape: [1, 32, 32, 4], seed: 23 }) as tf.Tensor4D;
      return {
        step: () => readTidy(() => vae.decode(z)),
        dispose: () => { z.dispose(); vae.dispose(); },
      };
    }),
  modelCase('CLIP text clip-text-tiny, 2×77 tokens', [],
    (_dir, fx) => {
      const { loadCLIPTextModel } = require('../lib/models/clip/loader');
      const { disposeTextOutput } = require('../lib/models/clip/text-model');
      const clip = loadCLIPTextModel(path.join(fx, 'clip-text-tiny'), { warn: () => {} });
      const ids = [0, 1].map((r) => Array.from({ length: 77 }, (_, i) => (i === 0 ? 0 : i === 76 ? 2 : (r * 131 + i * 17) % 1000 + 3)));
      return {
        step: () => { const o = clip.forward(ids); const r = o.lastHiddenState.dataSync() as Float32Array; disposeTextOutput(o); return r; },
        dispose: () => clip.dispose(),
      };
    }),
  modelCase('SAM image encoder sam-tiny, 1×128×128×3', [{ name: 'sam_img', shape: [1, 128, 128, 3], seed: 24 }],
    (dir, fx) => {
      const { loadSamFromFolder } = require('../lib/models/sam/build');
      const sam = loadSamFromFolder(path.join(fx, 'sam-tiny'), { warn: () => {} });
      const img = t(dir, { name: 'sam_img', shape: [1, 128, 128, 3], seed: 24 }) as tf.Tensor4D;
      return {
        step: () => readTidy(() => sam.imageEncoder.apply(img)),
        dispose: () => { img.dispose(); sam.dispose(); },
      };
    }),
  sampleCase(),
  detexCase(),
  sd15Case(),
];
