/** The tiny fixture models wired as the DETEX trainer wants them, and small synthetic subjects. */
import * as fs from 'fs';
import * as path from 'path';
import { fixture } from '../helpers/fixtures';
import { hostTensor } from '../../lib/io/host-tensor';
import { UNet2DConditionModel } from '../../lib/models/unet';
import { AutoencoderKL } from '../../lib/models/vae';
import { DDIMScheduler } from '../../lib/schedulers/ddim';
import { CLIPTokenizer } from '../../lib/models/clip/tokenizer';
import { loadCLIPTextModel, loadCLIPVisionModel } from '../../lib/models/clip/loader';
import { CLIPImageProcessor } from '../../lib/models/clip/image-processor';
import { CLIPTextModel } from '../../lib/models/clip/text-model';
import { CLIPVisionModel } from '../../lib/models/clip/vision-model';
import { imageEncoderAdapter, textEncoderAdapter } from '../../lib/detex/model-adapters';
import { DetexModels } from '../../lib/detex/trainer';
import { TrainingItem } from '../../lib/detex/data';

export interface TinyModels extends DetexModels {
  text: CLIPTextModel;
  vision: CLIPVisionModel;
  dispose(): void;
}

export function tinyAvailable(): boolean {
  return ['sd-tiny', 'clip-text-tiny', 'clip-tokenizer', 'clip-vision-tiny'].every((f) => fixture(f) !== undefined);
}

export async function loadTiny(): Promise<TinyModels> {
  const sd = fixture('sd-tiny')!;
  const quiet = () => undefined;
  const unet = await UNet2DConditionModel.load(path.join(sd, 'unet'), { warn: quiet });
  const vae = AutoencoderKL.load(path.join(sd, 'vae'), { warn: quiet });
  const scheduler = DDIMScheduler.fromConfig(JSON.parse(fs.readFileSync(path.join(sd, 'scheduler', 'scheduler_config.json'), 'utf8')), quiet);
  const tokenizer = CLIPTokenizer.fromFolder(fixture('clip-tokenizer')!);
  const text = loadCLIPTextModel(fixture('clip-text-tiny')!, { warn: quiet });
  const visionDir = fixture('clip-vision-tiny')!;
  const vision = loadCLIPVisionModel(visionDir, { warn: quiet });
  const processor = CLIPImageProcessor.fromFile(path.join(visionDir, 'preprocessor', 'preprocessor_config.json'), quiet);
  return {
    unet, vae, scheduler, tokenizer, text, vision,
    textEncoder: textEncoderAdapter(text),
    imageEncoder: imageEncoderAdapter(vision, processor),
    dispose() {
      unet.dispose();
      vae.dispose();
      text.dispose();
      vision.dispose();
    },
  };
}

/** n images size×size: a coloured square (the subject) at a different place on a different background. */
export function squares(n: number, size = 64): TrainingItem[] {
  return Array.from({ length: n }, (_, i) => {
    const img = new Float32Array(size * size * 3);
    const mask = new Float32Array(size * size);
    const x0 = 8 + ((i * 13) % 24);
    const y0 = 12 + ((i * 7) % 20);
    const bg = [0.2 + 0.2 * i, 0.5, 0.8 - 0.15 * i];
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const inside = x >= x0 && x < x0 + 24 && y >= y0 && y < y0 + 24;
        mask[y * size + x] = inside ? 1 : 0;
        const c = inside ? [0.9, 0.1, 0.1] : bg;
        for (let k = 0; k < 3; k++) img[(y * size + x) * 3 + k] = c[k];
      }
    }
    return { image: hostTensor('float32', [size, size, 3], img), mask: hostTensor('float32', [size, size], mask) };
  });
}

/**
 * Loads the tiny models before the enclosing describe's tests (skipping them when the fixtures are absent) and
 * disposes them after; the returned function gives the loaded models.
 */
export function useTinyModels(): () => TinyModels {
  let m: TinyModels | undefined;
  before(async function () {
    if (!tinyAvailable()) this.skip();
    m = await loadTiny();
  });
  after(() => m?.dispose());
  return () => m!;
}
