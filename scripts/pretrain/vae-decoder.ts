/**
 * Fine-tunes only the decoder (and post_quant_conv) of a trained detex-mini VAE, starting from the exported
 * `<out>/vae/` weights. The encoder stays frozen, so the latents — and the UNet trained on them — stay valid:
 * this sharpens what every generated image goes through without retraining the UNet.
 *
 * Full 64 px renders (the decoder sees whole latents, as in sampling), decoded from a posterior sample (the
 * UNet's latents are not exact means either); loss as in vae.ts without the KL, which the frozen encoder fixes.
 * Each checkpoint re-exports `<out>/vae/` (config unchanged: same encoder, same scaling_factor) and appends
 * held-out PSNR and the world oracle's reading of round trips (background and body colour with the true mask,
 * the ceiling of the text-to-image oracle scores) to `<cache>/eval.jsonl`.
 *
 *   node dist/scripts/pretrain/vae-decoder.js --out DIR --minutes 60 --steps 1500   (resumes from the cache)
 *   flags: --batch N (8), --eval-every N (200)
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../lib/backend';
import { toTf } from '../../lib/io/host-tensor';
import { writePng } from '../../lib/io/image';
import { AutoencoderKL } from '../../lib/models/vae/autoencoder-kl';
import { evalScenes, exportComponent, evalInterval, parseRunArgs, runLoop, worldBatch } from '../../lib/pretrain';
import { imageGrid, meanPsnr } from '../../lib/pretrain/grid';
import { reconstructionLoss } from '../../lib/pretrain/vae-loss';
import { vaeRoundTripScores } from '../../lib/pretrain/vae-oracle';

const CHECKPOINT_EVERY = 100;

const SEED = 20240301;
/** vae.ts's held-out PSNR set, so the numbers continue its table */
const PSNR_SEED = 20240227;
/** the oracle sets of TRAINING.md's round-trip measurement */
const ORACLE_SEED = 5;
const SIZE = 64;

const isDecoderParam = (name: string) => name.startsWith('decoder.') || name.startsWith('post_quant_conv.');

async function main(): Promise<void> {
  await initBackend();
  const root = path.resolve(__dirname, '..', '..', '..');
  const args = parseRunArgs('vae-decoder', root, { batch: { type: 'string' }, 'eval-every': { type: 'string' } });
  const batch = Number(args.rest.batch ?? 8);
  const evalEvery = evalInterval('vae-decoder', args.rest['eval-every'], 200, CHECKPOINT_EVERY);
  const vaeDir = path.join(args.out, 'vae');
  const config = JSON.parse(fs.readFileSync(path.join(vaeDir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const vae = AutoencoderKL.load(vaeDir);
  const vars = vae.params.makeTrainable(isDecoderParam);
  const nParams = [...vars.values()].reduce((a, v) => a + v.size, 0);
  console.log(`VAE decoder fine-tune from ${vaeDir}: ${(nParams / 1e6).toFixed(2)}M trainable parameters, batch ${batch}, cache ${args.cache}`);

  const psnrSet = evalScenes(32, PSNR_SEED, { size: SIZE });
  const oracleSets = { heldout: evalScenes(64, ORACLE_SEED, { size: SIZE }), train: evalScenes(64, ORACLE_SEED, { size: SIZE, split: 'train' }) };

  const evaluate = async (step: number) => {
    const t0 = Date.now();
    const x = toTf(psnrSet.images) as tf.Tensor4D;
    const rec = tf.tidy(() => vae.decode(vae.encode(x).mean));
    const recData = rec.dataSync() as Float32Array;
    tf.dispose([x, rec]);
    const psnr = meanPsnr(psnrSet.images.data, recData, psnrSet.images.shape[0]);
    const px = SIZE * SIZE * 3;
    await writePng(path.join(args.cache, 'recon.png'), imageGrid([psnrSet.images.data.slice(0, 8 * px), recData.slice(0, 8 * px)], 8, SIZE, SIZE));
    const heldout = vaeRoundTripScores(vae, oracleSets.heldout);
    const train = vaeRoundTripScores(vae, oracleSets.train);
    const line = { step, heldoutPsnr: psnr, oracle: { heldout, train }, evalMs: Date.now() - t0, time: new Date().toISOString() };
    fs.appendFileSync(path.join(args.cache, 'eval.jsonl'), JSON.stringify(line) + '\n');
    console.log(
      `eval step ${step}: held-out PSNR ${psnr.toFixed(2)} dB; round-trip oracle colour ${heldout.colour.toFixed(3)} held-out / ${train.colour.toFixed(3)} train, ` +
        `background ${heldout.background.toFixed(3)} / ${train.background.toFixed(3)} (${Date.now() - t0} ms)`,
    );
  };

  fs.mkdirSync(args.cache, { recursive: true });
  if (!fs.existsSync(path.join(args.cache, 'eval.jsonl'))) await evaluate(0);

  const result = await runLoop({
    dir: args.cache,
    vars,
    seed: SEED,
    schedule: { lr: 3e-4, warmupSteps: 50, totalSteps: args.steps ?? 1500, minRatio: 0.05 },
    adam: { weightDecay: 0 },
    clipNorm: 1,
    checkpointEvery: CHECKPOINT_EVERY,
    minutes: args.minutes,
    maxSteps: args.maxSteps,
    handleSignals: true,
    metadata: { batch: String(batch), mode: 'decoder-only' },
    print: (l) => console.log(l),
    onCheckpoint: async (step) => {
      exportComponent(vaeDir, config, vae.params, {
        weightsFile: 'diffusion_pytorch_model.safetensors',
        metadata: { decoder_finetune_step: String(step) },
      });
      if (step % evalEvery === 0) await evaluate(step);
    },
    loss: ({ rng }) => {
      const b = worldBatch(rng.fork('data'), { batch, size: SIZE });
      const x = toTf(b.images) as tf.Tensor4D;
      // The frozen encoder's posterior sample; nothing upstream of the decoder is trainable.
      const dist = vae.encode(x);
      const z = dist.sample(tf.tensor4d(rng.fork('posterior').normal(dist.mean.shape), dist.mean.shape));
      const { loss, l1, l2, edge } = reconstructionLoss(x, vae.decode(z));
      return { loss, logs: { l1, l2, edge } };
    },
  });
  console.log(`done: step ${result.step} (${result.stoppedBy}), recent loss ${result.recentLoss.toFixed(4)}`);
  vae.dispose();
}

main().catch((e: Error) => {
  console.error(`pretrain/vae-decoder: ${e.stack ?? e.message}`);
  process.exit(1);
});
