/** Loads a diffusers SD v1 folder (unet, vae, scheduler, text_encoder, tokenizer) plus an optional CLIP image encoder, as DETEX needs them. */
import * as fs from 'fs';
import * as path from 'path';
import { UNet2DConditionModel } from '../models/unet';
import { AutoencoderKL } from '../models/vae';
import { DDIMScheduler } from '../schedulers/ddim';
import { CLIPTokenizer } from '../models/clip/tokenizer';
import { loadCLIPTextModel, loadCLIPVisionModel } from '../models/clip/loader';
import { CLIPImageProcessor } from '../models/clip/image-processor';
import { imageEncoderAdapter, textEncoderAdapter } from './model-adapters';
import { DetexModels } from './trainer';

export interface LoadedModels extends DetexModels {
  dispose(): void;
}

/** `imageEncoderDir`: a CLIP vision folder; undefined = `<root>/image_encoder` when present; null = none (load it apart). */
export async function loadDetexModels(root: string, imageEncoderDir?: string | null, warn: (m: string) => void = () => undefined): Promise<LoadedModels> {
  const sub = (n: string) => {
    const d = path.join(root, n);
    if (!fs.existsSync(d)) throw new Error(`model folder ${root} has no ${n}/ (a diffusers Stable Diffusion layout is expected)`);
    return d;
  };
  const unet = await UNet2DConditionModel.load(sub('unet'), { warn });
  const vae = AutoencoderKL.load(sub('vae'), { warn });
  const scheduler = DDIMScheduler.fromConfig(JSON.parse(fs.readFileSync(path.join(sub('scheduler'), 'scheduler_config.json'), 'utf8')), warn);
  const tokenizer = CLIPTokenizer.fromFolder(sub('tokenizer'));
  const text = loadCLIPTextModel(sub('text_encoder'), { warn });
  const visionDir = imageEncoderDir === null ? undefined : imageEncoderDir ?? (fs.existsSync(path.join(root, 'image_encoder')) ? path.join(root, 'image_encoder') : undefined);
  const vision = visionDir ? loadCLIPVisionModel(visionDir, { warn }) : undefined;
  let imageEncoder;
  if (vision && visionDir) {
    const pp = [path.join(visionDir, 'preprocessor_config.json'), path.join(visionDir, 'preprocessor', 'preprocessor_config.json'), path.join(root, 'feature_extractor', 'preprocessor_config.json')].find((f) => fs.existsSync(f));
    imageEncoder = imageEncoderAdapter(vision, pp ? CLIPImageProcessor.fromFile(pp, warn) : new CLIPImageProcessor());
  }
  return {
    unet, vae, scheduler, tokenizer, textEncoder: textEncoderAdapter(text), imageEncoder,
    dispose() {
      unet.dispose();
      vae.dispose();
      text.dispose();
      vision?.dispose();
    },
  };
}
