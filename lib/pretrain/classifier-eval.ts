/**
 * Measurements of the world attribute classifier: per-attribute accuracy on renders, and on the same renders
 * after a round trip through the detex-mini VAE (encode → latent mean → decode), which softens them the way
 * the VAE softens generated images.
 */
import * as tf from '@tensorflow/tfjs-core';
import { hostTensor, HostTensor } from '../io/host-tensor';
import { AutoencoderKL } from '../models/vae/autoencoder-kl';
import { RenderedScene } from '../world';
import { attributeAccuracy, sceneAttributeLabels, WorldAttribute, WorldAttributeClassifier } from '../metrics/world-attributes';

export type AttributeScores = Record<WorldAttribute, number> & { n: number };

/** Accuracy per attribute of the classifier on `images` (uint8 [S, S, 3]) against the scenes' attributes. */
export function classifierScores(model: WorldAttributeClassifier, images: readonly HostTensor[], scenes: readonly RenderedScene[]): AttributeScores {
  const preds = model.predict(images);
  return { ...attributeAccuracy(preds, scenes.map((s) => sceneAttributeLabels(s.attributes))), n: images.length };
}

/** Renders → VAE (latent mean) → decoded uint8 images, in chunks of `chunk`; leaves no tensors behind. */
export function vaeRoundTrip(vae: AutoencoderKL, images: readonly HostTensor[], chunk = 8): HostTensor[] {
  const [h, w] = images[0].shape;
  const px = h * w * 3;
  const out: HostTensor[] = [];
  for (let i = 0; i < images.length; i += chunk) {
    const part = images.slice(i, i + chunk);
    const x = new Float32Array(part.length * px);
    part.forEach((im, k) => {
      for (let j = 0; j < px; j++) x[k * px + j] = im.data[j] / 127.5 - 1;
    });
    const y = tf.tidy(() => {
      const dist = vae.encode(tf.tensor4d(x, [part.length, h, w, 3]));
      const dec = vae.decode(dist.mean);
      dist.dispose();
      return dec;
    });
    const d = y.dataSync();
    y.dispose();
    for (let k = 0; k < part.length; k++) {
      const u8 = new Uint8Array(px);
      for (let j = 0; j < px; j++) u8[j] = Math.round(Math.min(255, Math.max(0, (d[k * px + j] + 1) * 127.5)));
      out.push(hostTensor('uint8', [h, w, 3], u8));
    }
  }
  return out;
}
