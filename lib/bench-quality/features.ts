/**
 * The DINO-I-like score's features. The paper uses DINO ViT-S/16 CLS features; the world has no DINO, so:
 *   - when the session has a DINO ViT (`<model>/dino/` or --dino), its CLS features (the paper's DINO-I), else
 *   - the world image encoder's (`<model>/image_encoder/`, the contrastively pretrained CLIP vision tower)
 *     **mean patch token of the last hidden state** — spatial appearance features before pooling and projection,
 *     not the projected CLS embedding CLIP-I uses, so the score weighs look over text-aligned semantics as DINO's does.
 * `name` says which was used; the report prints it.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { DetexSession } from '../engine';
import { Image } from '../engine/types';
import { CLIPImageProcessor } from '../models/clip/image-processor';
import { loadCLIPVisionModel } from '../models/clip/loader';
import { CLIPVisionModel, disposeVisionOutput } from '../models/clip/vision-model';
import { dinoPreprocess } from '../models/dino';

export interface FeatureExtractor {
  name: string;
  embed(images: readonly Image[]): Promise<Float32Array[]>;
  dispose(): void;
}

function hasDino(s: DetexSession): boolean {
  const dir = s.opts.dinoDir ?? path.join(s.folder, 'dino');
  return fs.existsSync(path.join(dir, 'config.json'));
}

/** The mean over patch tokens (CLS excluded) of a CLIP vision tower's last hidden state. */
export function patchMeanExtractor(vision: CLIPVisionModel, processor: CLIPImageProcessor, name: string, own: boolean): FeatureExtractor {
  const crop = processor.config.crop_size;
  const cropSize = typeof crop === 'number' ? crop : crop.height;
  const pp = cropSize === vision.config.image_size ? processor : processor.withSize(vision.config.image_size);
  return {
    name,
    async embed(images) {
      return images.map((img) => {
        const [h, w] = img.shape;
        const pv = pp.preprocess({ data: img.data as Uint8Array, width: w, height: h, channels: 3 }).pixelValues;
        const x = tf.tidy(() => tf.transpose(tf.tensor4d(pv.data as Float32Array, pv.shape as [number, number, number, number]), [0, 2, 3, 1]) as tf.Tensor4D);
        const out = vision.forward(x);
        const f = tf.tidy(() => {
          const [, n] = out.lastHiddenState.shape;
          return tf.mean(tf.slice(out.lastHiddenState, [0, 1, 0], [1, n - 1, -1]), [0, 1]);
        });
        const v = Float32Array.from(f.dataSync() as Float32Array);
        tf.dispose([x, f]);
        disposeVisionOutput(out);
        return v;
      });
    },
    dispose() {
      if (own) vision.dispose();
    },
  };
}

export async function dinoLikeExtractor(s: DetexSession): Promise<FeatureExtractor> {
  if (hasDino(s)) {
    const dino = await s.dino();
    return {
      name: 'DINO ViT CLS features (the paper\'s DINO-I)',
      async embed(images) {
        const out: Float32Array[] = [];
        for (const img of images) {
          const x = await dinoPreprocess(img);
          const f = dino.forward(x);
          out.push(Float32Array.from(f.dataSync() as Float32Array));
          tf.dispose([x, f]);
        }
        return out;
      },
      dispose() {},
    };
  }
  const dir = path.join(s.folder, 'image_encoder');
  if (!fs.existsSync(dir)) throw new Error(`bench quality: the DINO-I-like score needs ${dir} (or a dino/ folder)`);
  const vision = loadCLIPVisionModel(dir, { warn: s.warn });
  const ppFile = path.join(dir, 'preprocessor_config.json');
  const pp = fs.existsSync(ppFile) ? CLIPImageProcessor.fromFile(ppFile, s.warn) : new CLIPImageProcessor();
  return patchMeanExtractor(vision, pp, 'world image encoder (image_encoder/), mean patch token of the last hidden state', true);
}
