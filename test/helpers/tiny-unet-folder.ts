import * as fs from 'fs';
import * as path from 'path';
import { UNet2DConditionModel } from '../../lib/models/unet/unet';
import { ParamStore } from '../../lib/nn/params';
import { seededInitializer } from '../../lib/nn/init';
import { exportComponent } from '../../lib/pretrain/export';
import { unetConfig } from '../../scripts/pretrain/unet-config';

/**
 * A model folder for a quick `unet.js --warm-start` run: detex-mini's VAE, text encoder, tokenizer and scheduler
 * beside a seeded UNet of `channels`, so a two-step run costs seconds rather than the real UNet's minutes.
 */
export function tinyUNetFolder(out: string, miniDir: string, channels: number[]): void {
  for (const c of ['vae', 'text_encoder', 'tokenizer', 'scheduler']) fs.cpSync(path.join(miniDir, c), path.join(out, c), { recursive: true });
  const config = unetConfig(channels);
  const store = ParamStore.initializing(seededInitializer(3));
  UNet2DConditionModel.fromConfig(config as never, store);
  exportComponent(path.join(out, 'unet'), config, store, { weightsFile: 'diffusion_pytorch_model.safetensors' });
  store.dispose();
}
