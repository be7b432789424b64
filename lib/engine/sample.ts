/**
 * sample: prompt template (+ concept) → images and their final latents, as plain data. The concept is applied to
 * the shared model for this call only and removed after (session.exclusive), so one loaded model serves any
 * number of concepts, one call at a time.
 */
import * as tf from '@tensorflow/tfjs-core';
import { HostTensor, fromTfSync, hostTensor } from '../io/host-tensor';
import { tensorToImage } from '../io/image';
import { sample as runSample } from '../pipelines/sample';
import { applyConcept, AppliedConcept } from '../detex/concept';
import { batchSubstitutions, composePrompt } from '../detex/composer';
import { samplingGuidance } from '../detex/model-defaults';
import { DetexSession } from './session';
import { Hooks, Image, StepProgress } from './types';

export interface SampleRequest {
  /** a composer template ("a {{V}} {{class}} on the beach") or plain text */
  prompt: string;
  negativePrompt?: string;
  conceptPath?: string;
  /** DDIM steps (default 50) */
  steps?: number;
  /** classifier-free guidance w (default: the model's detex_config.json, else 6, the paper's) */
  guidance?: number;
  seed?: number;
  /** images from this prompt and seed (default 1) */
  count?: number;
  /** pixels; default the model's native size (unet sample_size × VAE factor) */
  width?: number;
  height?: number;
  /** a preview image every this many steps (0 = none) */
  previewEvery?: number;
}

export interface SampleOutput {
  /** the prompt as sampled (pseudo-words as token strings) */
  prompt: string;
  /** RGB uint8 [H, W, 3], one per image */
  images: Image[];
  /** final latents NHWC float32 [count, h, w, c] (not divided by the VAE scaling factor) */
  latents: HostTensor;
  width: number;
  height: number;
}

/** uint8 [h, w, 3] of image 0 of a [B, h, w, 3] float preview in [0, 1]. */
function previewImage(p: HostTensor): Image {
  const [, h, w, c] = p.shape;
  const d = new Uint8Array(h * w * c);
  for (let i = 0; i < d.length; i++) d[i] = Math.max(0, Math.min(255, Math.round((p.data[i] as number) * 255)));
  return hostTensor('uint8', [h, w, c], d);
}

export async function sample(s: DetexSession, req: SampleRequest, hooks: Hooks<StepProgress> = {}): Promise<SampleOutput> {
  if (typeof req.prompt !== 'string' || !req.prompt.trim()) throw new Error('sample: the prompt is empty');
  const models = await s.sd();
  const concept = req.conceptPath ? s.concept(req.conceptPath) : undefined;
  const native = (models.unet.config.raw.sample_size as number) * models.vae.scaleFactor;
  const width = req.width ?? native;
  const height = req.height ?? native;
  const count = req.count ?? 1;
  const steps = req.steps ?? 50;
  return s.exclusive(async () => {
    if (hooks.signal?.aborted) throw Object.assign(new Error('sampling cancelled before it started'), { name: 'AbortError' });
    let applied: AppliedConcept | undefined;
    const held: tf.Tensor[] = [];
    try {
      applied = concept ? applyConcept(models, concept) : undefined;
      // 1. text: the composed prompt with the concept's embeddings substituted; the negative prompt as plain text
      const p = composePrompt(req.prompt, models.tokenizer, applied?.vocabulary);
      const subs = batchSubstitutions([p]);
      const cond = models.textEncoder.encode([p.inputIds], subs);
      held.push(cond);
      subs.forEach((x) => x.vector.dispose());
      const neg = models.textEncoder.encode(models.tokenizer.call([req.negativePrompt ?? '']).inputIds, []);
      held.push(neg);
      // 2. the pipeline
      const r = await runSample({
        unet: models.unet, vae: models.vae, scheduler: models.scheduler, promptEmbeds: cond, negativeEmbeds: neg,
        guidanceScale: samplingGuidance(s.folder, req.guidance), steps, seed: req.seed ?? 0, width, height, numImagesPerPrompt: count,
        preview: req.previewEvery ? { every: req.previewEvery, mode: 'approx' } : undefined,
        signal: hooks.signal,
        onStep: (info) => hooks.onProgress?.({ step: info.step, total: info.total, preview: info.preview ? previewImage(info.preview) : undefined }),
      });
      held.push(r.latents, r.images!);
      // 3. plain data out
      const images: Image[] = [];
      for (let i = 0; i < count; i++) {
        const one = tf.tidy(() => tf.squeeze(tf.slice(r.images!, [i, 0, 0, 0], [1, -1, -1, -1]), [0]));
        images.push(tensorToImage(one));
        one.dispose();
      }
      return { prompt: p.text, images, latents: fromTfSync(r.latents), width, height };
    } finally {
      tf.dispose(held);
      applied?.remove();
    }
  });
}
