/**
 * Load the sampling components of a diffusers Stable Diffusion folder: unet/, vae/ and scheduler/ as named in
 * model_index.json. (The text encoder and tokenizer are loaded by their own modules.) Errors name the folder.
 */
import { componentDir, readComponentConfig, readModelIndex } from '../io/diffusers-folder';
import { AutoencoderKL } from '../models/vae/autoencoder-kl';
import { UNet2DConditionModel } from '../models/unet/unet';
import { DDIMScheduler } from '../schedulers/ddim';

export interface SDComponents {
  unet: UNet2DConditionModel;
  vae: AutoencoderKL;
  scheduler: DDIMScheduler;
  dispose(): void;
}

export interface SDLoadOptions {
  /** weights variant, e.g. "fp16" */
  variant?: string;
  warn?: (msg: string) => void;
}

export function loadSDComponents(root: string, opts: SDLoadOptions = {}): SDComponents {
  const index = readModelIndex(root);
  const scheduler = DDIMScheduler.fromConfig(readComponentConfig(componentDir(root, 'scheduler', index)), opts.warn);
  const vae = AutoencoderKL.load(componentDir(root, 'vae', index), opts);
  let unet: UNet2DConditionModel;
  try {
    unet = UNet2DConditionModel.load(componentDir(root, 'unet', index), opts);
  } catch (e) {
    vae.dispose();
    throw e;
  }
  return {
    unet,
    vae,
    scheduler,
    dispose() {
      unet.dispose();
      vae.dispose();
    },
  };
}
