/** `detex sample`: generate images of a concept from a prompt template. */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { parseArgs } from 'util';
import { initBackend } from '../backend';
import { writePng } from '../io/image';
import { sample } from '../pipelines/sample';
import { applyConcept, loadConcept } from '../detex/concept';
import { batchSubstitutions, composePrompt } from '../detex/composer';
import { loadDetexModels } from '../detex/load-models';
import { resolveModelDir } from '../models/default-model';
import { modelWeightBytes } from '../io/diffusers-folder';
import { samplingGuidance } from '../detex/model-defaults';

export const usage = 'sample [--model <sd-folder>] [--concept <file>] --prompt "a {{V}} {{class}} on the beach" [--seed 0] [--steps 50] [--guidance W (default: detex_config.json of the model, else 6)] [--count 1] [--width W --height H (default: the model size)] --out <folder>';

export async function sampleCommand(argv: string[]): Promise<number> {
  const { values: a } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' }, concept: { type: 'string' }, prompt: { type: 'string' }, seed: { type: 'string' },
      steps: { type: 'string' }, guidance: { type: 'string' }, count: { type: 'string' }, out: { type: 'string' },
      width: { type: 'string' }, height: { type: 'string' },
    },
  });
  for (const k of ['prompt', 'out'] as const) {
    if (!a[k]) {
      console.error(`detex sample: --${k} is required\nusage: detex ${usage}`);
      return 2;
    }
  }
  await initBackend({ modelBytes: modelWeightBytes(resolveModelDir(a.model)) });
  const models = await loadDetexModels(resolveModelDir(a.model));
  const concept = a.concept ? loadConcept(a.concept) : undefined;
  const applied = concept ? applyConcept(models, concept) : undefined;
  try {
    const p = composePrompt(a.prompt!, models.tokenizer, applied?.vocabulary);
    const subs = batchSubstitutions([p]);
    const uncond = models.tokenizer.call(['']).inputIds;
    const cond = models.textEncoder.encode([p.inputIds], subs);
    const neg = models.textEncoder.encode(uncond, []);
    subs.forEach((s) => s.vector.dispose());
    fs.mkdirSync(a.out!, { recursive: true });
    const count = Number(a.count ?? 1);
    const seed = Number(a.seed ?? 0);
    // the UNet's native size (sample_size latents × the VAE factor) unless asked otherwise
    const native = (models.unet.config.raw.sample_size as number) * models.vae.scaleFactor;
    const width = Number(a.width ?? native);
    const height = Number(a.height ?? native);
    try {
      for (let i = 0; i < count; i++) {
        const t0 = Date.now();
        const r = await sample({
          unet: models.unet, vae: models.vae, scheduler: models.scheduler, promptEmbeds: cond, negativeEmbeds: neg,
          guidanceScale: samplingGuidance(resolveModelDir(a.model), a.guidance === undefined ? undefined : Number(a.guidance)), steps: Number(a.steps ?? 50), seed: seed + i, width, height,
        });
        const file = path.join(a.out!, `${String(i).padStart(3, '0')}-seed${seed + i}.png`);
        const img = tf.squeeze(r.images!, [0]) as tf.Tensor3D;
        await writePng(file, img);
        tf.dispose([r.latents, r.images!, img]);
        // wall time of the guided DDIM loop, VAE decode and PNG write (the first image also pays one-time kernel setup)
        console.log(`${file}  "${p.text}"  ${((Date.now() - t0) / 1000).toFixed(2)} s`);
      }
    } finally {
      tf.dispose([cond, neg]);
    }
    return 0;
  } finally {
    applied?.remove();
    models.dispose();
  }
}
