/** The CLIP towers as the DETEX trainer sees them (types.ts). */
import * as tf from '@tensorflow/tfjs-core';
import { CLIPImageProcessor, RawImage } from '../models/clip/image-processor';
import { CLIPTextModel } from '../models/clip/text-model';
import { CLIPVisionModel, disposeVisionOutput } from '../models/clip/vision-model';
import { DetexImageEncoder, DetexTextEncoder, EmbeddingSubstitution } from './types';

export function textEncoderAdapter(model: CLIPTextModel): DetexTextEncoder {
  const vocab = model.config.vocab_size;
  return {
    hiddenSize: model.hiddenSize,
    identityConfig: { ...model.config } as unknown as Record<string, unknown>,
    tokenEmbedding(id: number): tf.Tensor1D {
      if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new Error(`tokenEmbedding: id ${id} is outside the ${vocab}-row table`);
      const table = model.store.tensor(model.tokenTableName);
      return tf.tidy(() => tf.reshape(tf.slice(table, [id, 0], [1, -1]), [-1]) as tf.Tensor1D);
    },
    encode(inputIds, subs: readonly EmbeddingSubstitution[]): tf.Tensor3D {
      // Pseudo-word ids lie past the table; at substituted positions any id will do (its row is replaced),
      // so give the model 0 there rather than growing the frozen table.
      const ids = inputIds.map((r) => r.slice());
      for (const s of subs) ids[s.batch][s.position] = 0;
      return tf.tidy(() => {
        const overrides = subs.length
          ? { positions: subs.map((s) => [s.batch, s.position] as const), vectors: tf.stack(subs.map((s) => s.vector)) as tf.Tensor2D }
          : undefined;
        // inside tidy: the pooled output and projection are freed, only the hidden states are kept
        return model.forward(ids, { embeddingOverrides: overrides }).lastHiddenState;
      });
    },
  };
}

/** Images NHWC [0,1] → uint8 → the CLIP processor (bicubic resize, crop, normalise) → projected embedding. */
export function imageEncoderAdapter(model: CLIPVisionModel, processorIn: CLIPImageProcessor): DetexImageEncoder {
  // the crop must be the model's input size (a small model may ship the stock 224 preprocessor config)
  const crop = processorIn.config.crop_size;
  const cropSize = typeof crop === 'number' ? crop : crop.height;
  const processor = cropSize === model.config.image_size ? processorIn : processorIn.withSize(model.config.image_size);
  const dim = model.store.has('visual_projection.weight') ? model.config.projection_dim : model.config.hidden_size;
  return {
    embedDim: dim,
    embed(images: tf.Tensor4D): tf.Tensor2D {
      const [n, h, w] = images.shape;
      const u8 = tf.tidy(() => tf.cast(tf.round(tf.mul(tf.clipByValue(images, 0, 1), 255)), 'int32'));
      const data = u8.dataSync();
      u8.dispose();
      const pixels: tf.Tensor4D[] = [];
      for (let i = 0; i < n; i++) {
        const raw: RawImage = { data: Uint8Array.from(data.subarray(i * h * w * 3, (i + 1) * h * w * 3)), width: w, height: h, channels: 3 };
        const pv = processor.preprocess(raw).pixelValues; // [1, 3, H, W]
        pixels.push(tf.tidy(() => tf.transpose(tf.tensor4d(pv.data as Float32Array, pv.shape as [number, number, number, number]), [0, 2, 3, 1])));
      }
      const batch = tf.concat(pixels) as tf.Tensor4D;
      pixels.forEach((p) => p.dispose());
      const out = model.forward(batch);
      batch.dispose();
      const emb = (out.imageEmbeds ?? out.pooledOutput).clone();
      disposeVisionOutput(out);
      return emb;
    },
  };
}
