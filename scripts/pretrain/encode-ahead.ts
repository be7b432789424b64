/**
 * The UNet pretraining's data producer (lib/pretrain/encode-ahead.ts): renders and VAE-encodes the batches of
 * the steps just after the trainer's cursor into `<cache>/ahead/`, at the lowest CPU priority, so the trainer's
 * step skips that work. `unet.js --encode-ahead` starts it as a child process and it exits with its parent;
 * by hand:
 *
 *   node dist/scripts/pretrain/encode-ahead.js --cache DIR --out MODEL_DIR --until STEPS [--batch 16] [--ahead 6] [--close-ups F] [--only FILTER] [--pattern-sets]
 */
import * as os from 'os';
import * as path from 'path';
import { parseArgs } from 'util';
import { initBackend } from '../../lib/backend';
import { AutoencoderKL } from '../../lib/models/vae/autoencoder-kl';
import { aheadDir, produceAhead } from '../../lib/pretrain/encode-ahead';
import { parseSceneFilter } from '../../lib/world/scene-filter';
import { weightsId } from '../../lib/pretrain/weights-id';
import { UNET_IMAGE_SIZE, UNET_SEED } from './unet-config';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      cache: { type: 'string' }, out: { type: 'string' }, until: { type: 'string' }, batch: { type: 'string' }, ahead: { type: 'string' }, 'close-ups': { type: 'string' }, only: { type: 'string' }, 'pattern-sets': { type: 'boolean' },
    },
  });
  if (!values.cache || !values.out || !values.until) throw new Error('needs --cache DIR --out MODEL_DIR --until STEPS');
  os.setPriority(19);
  await initBackend();
  const vaeId = weightsId(path.join(values.out, 'vae', 'diffusion_pytorch_model.safetensors'));
  const vae = AutoencoderKL.load(path.join(values.out, 'vae'));
  // Under unet.js the parent's IPC channel closing (it ended, or was killed) stops the producer.
  let stopped = false;
  process.on('disconnect', () => (stopped = true));
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => (stopped = true));
  const written = await produceAhead(vae, {
    dir: aheadDir(values.cache),
    seed: UNET_SEED,
    vaeId,
    batch: Number(values.batch ?? 16),
    size: UNET_IMAGE_SIZE,
    ahead: Number(values.ahead ?? 6),
    closeUps: Number(values['close-ups'] ?? 0),
    only: values.only ? parseSceneFilter(values.only) : undefined,
    patternSets: !!values['pattern-sets'],
    until: Number(values.until),
    stop: () => stopped || (process.send !== undefined && !process.connected),
  });
  vae.dispose();
  console.log(`encode-ahead: ${written} batches written`);
  // An open IPC channel would keep both processes alive.
  if (process.connected) process.disconnect();
}

main().catch((e: Error) => {
  console.error(`encode-ahead: ${e.stack ?? e.message}`);
  process.exit(1);
});
