/**
 * Pretrains the detex-mini VAE (diffusers AutoencoderKL, small config) on 64×64 world renders (train split).
 * Trained on random 32×32 crops (4× cheaper per image; the model is convolutional). Loss: L1 + L2 reconstruction + an edge (image-gradient L1) term for sharpness + a small KL, decoded from a
 * posterior sample as in LDM. Every checkpoint exports `<out>/vae/` with `scaling_factor` = 1/std of the
 * latent means on a fixed batch of train renders, writes a reconstruction sheet (held-out subjects: top
 * originals, bottom reconstructions) and appends held-out PSNR to `<cache>/eval.jsonl`.
 *
 *   node dist/scripts/pretrain/vae.js --minutes 20      (resumes from .detex-cache/pretrain/vae-f<factor>)
 *   flags: --factor 4|8 (default 4), --batch N, --lr PEAK (1e-3), --steps N (total, fixes the lr schedule), --max-steps N,
 *          --warm-start (no checkpoint: continue from <out>/vae's weights),
 *          --scale-equivariance W (0: off; adds W × the loss of decoding 2×-downsampled latents into the 2×-downsampled
 *          image, lib/pretrain/scale-equivariance.ts: fewer high frequencies in the latents for the UNet to reproduce)
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../lib/backend';
import { hostTensor, HostTensor, toTf } from '../../lib/io/host-tensor';
import { writePng } from '../../lib/io/image';
import { AutoencoderKL } from '../../lib/models/vae/autoencoder-kl';
import { evalScenes, exportComponent, initialStore, parseRunArgs, refuseToOverwriteTrained, runLoop, worldBatch } from '../../lib/pretrain';
import { imageGrid, meanPsnr } from '../../lib/pretrain/grid';
import { reconstructionLoss } from '../../lib/pretrain/vae-loss';
import { highFrequencyShare } from '../../lib/pretrain/latent-spectrum';
import { scaleEquivarianceLoss } from '../../lib/pretrain/scale-equivariance';
import { vaeRoundTripScores } from '../../lib/pretrain/vae-oracle';
import { Rng } from '../../lib/random';
import { SIZE, vaeConfig } from './vae-config';

const SEED = 20240227;

/** training crop side (evaluation uses full 64 px renders) */
const CROP = 32;
const W_KL = 1e-4;

async function main(): Promise<void> {
  await initBackend();
  const root = path.resolve(__dirname, '..', '..', '..');
  const flags = { factor: { type: 'string' }, batch: { type: 'string' }, 'scale-equivariance': { type: 'string' }, lr: { type: 'string' } } as const;
  const probe = parseRunArgs('vae', root, flags);
  const factor = Number(probe.rest.factor ?? 4) as 4 | 8;
  if (factor !== 4 && factor !== 8) throw new Error(`--factor must be 4 or 8, got ${factor}`);
  const args = parseRunArgs(`vae-f${factor}`, root, flags);
  // Session 13: the UNet's x0 predictions lose outlines and patterns even at low noise; the latents carry more fine
  // detail than the images (lib/pretrain/latent-spectrum.ts).
  const wSe = Number(args.rest['scale-equivariance'] ?? 0);
  if (!(wSe >= 0)) throw new Error(`pretrain/vae: --scale-equivariance must be a number ≥ 0, got '${args.rest['scale-equivariance']}'`);
  const peakLr = Number(args.rest.lr ?? 1e-3);
  if (!(peakLr > 0)) throw new Error(`pretrain/vae: --lr must be a number > 0, got '${args.rest.lr}'`);
  refuseToOverwriteTrained(args, 'checkpoint.safetensors', ['vae']);
  const batch = Number(args.rest.batch ?? 12);
  const config = vaeConfig(factor);
  const { store, warmFrom } = initialStore(args, 'checkpoint.safetensors', path.join(args.out, 'vae', 'diffusion_pytorch_model.safetensors'), SEED);
  if (warmFrom) console.log(`warm start from ${warmFrom}`);
  const vae = new AutoencoderKL(store, config);
  const vars = store.makeTrainable(() => true);
  const nParams = [...vars.values()].reduce((a, v) => a + v.size, 0);
  console.log(`VAE f${factor}: ${(nParams / 1e6).toFixed(2)}M parameters, batch ${batch}, cache ${args.cache}`);

  const evalSet = evalScenes(32, SEED, { size: SIZE });
  const scaleSet = worldBatch(new Rng(SEED).fork('scale'), { batch: 32, size: SIZE });
  // the train-split set of TRAINING.md's round-trip measurements (vae-decoder.ts uses the same)
  const oracleSet = evalScenes(64, 5, { size: SIZE, split: 'train' });

  /** Mode reconstruction in chunks of 8 (bounded memory); returns host data: reconstructions and latent means. */
  const reconstruct = (images: tf.Tensor4D): { rec: Float32Array; latentStd: number; latents: HostTensor } => {
    const recs: Float32Array[] = [];
    const means: Float32Array[] = [];
    let latentShape: number[] = [];
    for (let i = 0; i < images.shape[0]; i += 8) {
      const [r, z] = tf.tidy(() => {
        const x = tf.slice(images, [i, 0, 0, 0], [Math.min(8, images.shape[0] - i), -1, -1, -1]);
        const dist = vae.encode(x);
        const m = dist.mean;
        const out = vae.decode(m);
        return [out, m];
      });
      recs.push(r.dataSync() as Float32Array);
      means.push(z.dataSync() as Float32Array);
      latentShape = z.shape;
      tf.dispose([r, z]);
    }
    const joined = (chunks: Float32Array[]): Float32Array => {
      const out = new Float32Array(chunks.reduce((a, c) => a + c.length, 0));
      chunks.reduce((at, c) => (out.set(c, at), at + c.length), 0);
      return out;
    };
    const flat = joined(means);
    let sum = 0;
    let sq = 0;
    for (const v of flat) {
      sum += v;
      sq += v * v;
    }
    const mean = sum / flat.length;
    const latents = hostTensor('float32', [images.shape[0], latentShape[1], latentShape[2], latentShape[3]], flat);
    return { rec: joined(recs), latentStd: Math.sqrt(sq / flat.length - mean * mean), latents };
  };

  const evaluate = async (step: number) => {
    const t0 = Date.now();
    const x = toTf(evalSet.images) as tf.Tensor4D;
    const { rec } = reconstruct(x);
    x.dispose();
    const psnr = meanPsnr(evalSet.images.data, rec, 32);
    const xs = toTf(scaleSet.images) as tf.Tensor4D;
    const { latentStd, latents } = reconstruct(xs);
    const highFrequency = highFrequencyShare(latents);
    xs.dispose();
    const px = SIZE * SIZE * 3;
    const sheet = imageGrid([evalSet.images.data.slice(0, 8 * px), rec.slice(0, 8 * px)], 8, SIZE, SIZE);
    await writePng(path.join(args.cache, 'recon.png'), sheet);
    const scaling = 1 / latentStd;
    exportComponent(path.join(args.out, 'vae'), { ...config, scaling_factor: Number(scaling.toPrecision(5)) }, store, {
      weightsFile: 'diffusion_pytorch_model.safetensors',
      metadata: { step: String(step), heldout_psnr: psnr.toFixed(2) },
    });
    // What the world oracle still reads after a round trip: the ceiling of the text-to-image colour scores.
    const oracle = vaeRoundTripScores(vae, oracleSet);
    const line = { step, heldoutPsnr: psnr, latentStd, latentHighFrequency: highFrequency, scalingFactor: scaling, oracle, evalMs: Date.now() - t0, time: new Date().toISOString() };
    fs.appendFileSync(path.join(args.cache, 'eval.jsonl'), JSON.stringify(line) + '\n');
    console.log(
      `eval step ${step}: held-out PSNR ${psnr.toFixed(2)} dB, latent std ${latentStd.toFixed(3)} (scaling_factor ${scaling.toPrecision(4)}), latent high-frequency share ${highFrequency.toFixed(3)}; ` +
        `round-trip oracle colour ${oracle.colour.toFixed(3)}, background ${oracle.background.toFixed(3)} (train renders)`,
    );
  };

  const result = await runLoop({
    dir: args.cache,
    vars,
    seed: SEED,
    schedule: { lr: peakLr, warmupSteps: 50, totalSteps: args.steps ?? 800, minRatio: 0.05 },
    adam: { weightDecay: 0 },
    clipNorm: 1,
    checkpointEvery: 100,
    minutes: args.minutes,
    maxSteps: args.maxSteps,
    handleSignals: true,
    metadata: { factor: String(factor), batch: String(batch), crop: String(CROP), scaleEquivariance: String(wSe) },
    print: (l) => console.log(l),
    onCheckpoint: evaluate,
    loss: ({ rng }) => {
      // Random CROP×CROP crops of full renders: the VAE is convolutional, so crops teach the same local
      // code at a fraction of the cost (as SD's VAE trained on 256 px crops for 512 px use).
      const b = worldBatch(rng.fork('data'), { batch, size: SIZE });
      const full = toTf(b.images) as tf.Tensor4D;
      const off = rng.fork('crop');
      const x = tf.concat(
        Array.from({ length: batch }, (_, i) => tf.slice(full, [i, off.int(SIZE - CROP + 1), off.int(SIZE - CROP + 1), 0], [1, CROP, CROP, 3])),
        0,
      ) as tf.Tensor4D;
      const dist = vae.encode(x);
      const z = dist.sample(tf.tensor4d(rng.fork('posterior').normal(dist.mean.shape), dist.mean.shape));
      const y = vae.decode(z);
      const { loss: rec, l1, l2, edge } = reconstructionLoss(x, y);
      const kl = tf.mul(tf.mean(tf.sub(tf.add(tf.square(dist.mean), tf.exp(dist.logvar)), tf.add(1, dist.logvar))), 0.5) as tf.Scalar;
      const loss = tf.add(rec, tf.mul(kl, W_KL)) as tf.Scalar;
      const logs: Record<string, tf.Scalar> = { l1, l2, edge, kl };
      if (wSe === 0) return { loss, logs };
      const se = scaleEquivarianceLoss((latent) => vae.decode(latent), x, z);
      return { loss: tf.add(loss, tf.mul(se, wSe)) as tf.Scalar, logs: { ...logs, se } };
    },
  });
  console.log(`done: step ${result.step} (${result.stoppedBy}), recent loss ${result.recentLoss.toFixed(4)}`);
  vae.dispose();
}

main().catch((e: Error) => {
  console.error(`pretrain/vae: ${e.stack ?? e.message}`);
  process.exit(1);
});
