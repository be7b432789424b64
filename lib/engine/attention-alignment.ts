/**
 * attentionAlignment: does a trained concept's [P_i] look at the subject and its [B_i] at the background of
 * photo i? This is what L_CA (eq. 4) asks for, measured on the training photos themselves, where the mask is
 * known: each photo is encoded, noised at fixed timesteps with seeded noise, and denoised once by the UNet under
 * its training prompt ("photo of a [V] {class} with [P_i] {attribute} in [B_i] background"); the attn2 maps at
 * the CA resolution are averaged over heads (UNet), layers and timesteps, as in training.
 *
 * Scores per photo: the share of [P_i]'s attention mass on the subject (Σ A_P·m / Σ A_P), of [B_i]'s off it
 * (Σ A_B·(1−m) / Σ A_B), and the subject's area share (mean m) — a map that ignores the image scores its area
 * share on [P] and 1 − area on [B], so the gain over those is what localisation adds. It works for any method
 * with [P]/[B] tokens, including the ablation trained without L_CA, which is the point.
 */
import * as tf from '@tensorflow/tfjs-core';
import { applyConcept, AppliedConcept } from '../detex/concept';
import { batchSubstitutions, composePrompt } from '../detex/composer';
import { prepareTrainingData } from '../detex/data';
import { Rng } from '../random';
import { chooseLayers, resolveTokens } from './attention-maps';
import { DetexSession } from './session';
import { unitMask } from './train';
import { Image, Mask } from './types';

export interface AttentionAlignmentRequest {
  conceptPath: string;
  /** the concept's training photos, in training order (photo i ↔ [P_i], [B_i]) */
  images: Image[];
  /** their subject masks, uint8 [H, W] (1 or 255 = subject) or float [H, W] in [0, 1], as train() takes them */
  masks: Mask[];
  /** timesteps the photo is noised at (default 200, 400, 600, 800) */
  timesteps?: number[];
  seed?: number;
  /** attn2 layers at latent/downscale (default 2, L_CA's resolution) */
  downscale?: number;
}

export interface PhotoAlignment {
  photo: number;
  /** share of [P_i]'s attention on the subject */
  poseOnSubject: number;
  /** share of [B_i]'s attention off the subject */
  backgroundOffSubject: number;
  /** subject pixels / all pixels at the map resolution */
  subjectArea: number;
}

export interface AttentionAlignmentOutput {
  photos: PhotoAlignment[];
  /** means over photos */
  poseOnSubject: number;
  backgroundOffSubject: number;
  subjectArea: number;
  layers: string[];
  resolution: [number, number];
}

export async function attentionAlignment(s: DetexSession, req: AttentionAlignmentRequest): Promise<AttentionAlignmentOutput> {
  const { conceptPath, images, masks } = req;
  if (images.length === 0 || images.length !== masks.length) {
    throw new Error(`attentionAlignment: need one mask per photo, got ${images.length} photos and ${masks.length} masks`);
  }
  const models = await s.sd();
  const concept = s.concept(conceptPath);
  if (concept.meta.tokens.pose.length < images.length || concept.meta.tokens.background.length < images.length) {
    throw new Error(`attentionAlignment: ${conceptPath} has ${concept.meta.tokens.pose.length} [P] and ${concept.meta.tokens.background.length} [B] tokens, need ${images.length} of each (a Custom Diffusion concept has none)`);
  }
  const timesteps = req.timesteps ?? [200, 400, 600, 800];
  const T = models.scheduler.config.num_train_timesteps;
  if (!timesteps.length || !timesteps.every((t) => Number.isInteger(t) && t >= 0 && t < T)) throw new Error(`attentionAlignment: timesteps must be integers in [0, ${T}), got ${timesteps}`);
  const rng = new Rng(req.seed ?? 0);

  // The photos and masks exactly as the trainer prepares them (centre crop to the model size, binary masks
  // area-averaged to the L_CA resolution), so the score reads the targets L_CA was trained towards.
  const f = models.vae.scaleFactor;
  const size = (models.unet.config.raw.sample_size as number) * f;
  const layers = chooseLayers(models.unet.crossAttentionLayers(size / f, size / f), req.downscale ?? 2);
  const layerPaths = layers.map((l) => l.path);
  const resolution: [number, number] = [layers[0].h, layers[0].w];

  return s.exclusive(async () => {
    let applied: AppliedConcept | undefined;
    const data = prepareTrainingData(images.map((image, i) => ({ image, mask: unitMask(masks[i]) })), {
      resolution: size, latentSize: [size / f, size / f], caSize: resolution, blank: [1, 1, 1], warn: () => undefined,
    });
    try {
      applied = applyConcept(models, concept);
      const vocabulary = applied.vocabulary;
      const photos: PhotoAlignment[] = [];
      for (let i = 0; i < images.length; i++) {
        const template = `photo of a {{V}} {{class}} with {{P.${i + 1}}} {{attribute}} in {{B.${i + 1}}} background`;
        const p = composePrompt(template, models.tokenizer, vocabulary);
        const [pose, background] = resolveTokens(p, models.tokenizer, [`P.${i + 1}`, `B.${i + 1}`], vocabulary);
        const noise = rng.normal([timesteps.length, size / f, size / f, models.vae.config.latent_channels]);
        const scores = tf.tidy(() => {
          const image = tf.sub(tf.mul(tf.slice(data.images, [i, 0, 0, 0], [1, -1, -1, -1]), 2), 1) as tf.Tensor4D;
          const batch = tf.tile(models.vae.encodeLatents(image), [timesteps.length, 1, 1, 1]);
          const eps = tf.tensor4d(noise, batch.shape as [number, number, number, number]);
          const xt = models.scheduler.addNoise(batch, eps, timesteps) as tf.Tensor4D;
          const one = models.textEncoder.encode([p.inputIds], batchSubstitutions([p]));
          const ehs = tf.tile(one, [timesteps.length, 1, 1]);
          const out = models.unet.forwardWithAttention(xt, timesteps, ehs as tf.Tensor3D, { captureAttention: { layers: layerPaths } });
          // [layers·B, h, w, 77] → mean → [h, w, 77]
          const maps = tf.mean(tf.concat(layerPaths.map((l) => out.attentionMaps[l])), 0) as tf.Tensor3D;
          const m = tf.squeeze(tf.slice(data.masksCA, [i, 0, 0], [1, -1, -1]), [0]);
          const col = (pos: number) => tf.squeeze(tf.slice(maps, [0, 0, pos], [-1, -1, 1]), [2]);
          const share = (a: tf.Tensor, w: tf.Tensor) => tf.div(tf.sum(tf.mul(a, w)), tf.sum(a));
          return [share(col(pose.position), m), share(col(background.position), tf.sub(1, m)), tf.mean(m)].map((x) => x.dataSync()[0]);
        });
        photos.push({ photo: i + 1, poseOnSubject: scores[0], backgroundOffSubject: scores[1], subjectArea: scores[2] });
      }
      const mean = (k: keyof PhotoAlignment) => photos.reduce((a, x) => a + x[k], 0) / photos.length;
      return {
        photos, poseOnSubject: mean('poseOnSubject'), backgroundOffSubject: mean('backgroundOffSubject'), subjectArea: mean('subjectArea'),
        layers: layerPaths, resolution,
      };
    } finally {
      applied?.remove();
      data.dispose();
    }
  });
}
