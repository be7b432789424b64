/**
 * Parity runner for CLIPVisionModel[WithProjection] + CLIPImageProcessor fixtures (`clip-vision-tiny` and any
 * fixture whose reference class names them). Two kinds of case:
 *  - preprocessing: input `image_uint8` (HWC, as decoded) → resized_uint8, cropped_uint8, pixel_values
 *    (processor config from `args.processor_config`, else preprocessor/preprocessor_config.json);
 *  - model: input `pixel_values` (NCHW; or `args.images` PNGs preprocessed at `args.shortest_edge`/`args.crop`)
 *    → image_embeds, last_hidden_state, pooler_output, hidden_states_i, cosine_similarity (CLIP-I).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { HostTensor, fromTfSync, hostTensor, toTf } from '../../io/host-tensor';
import { CLIPImageProcessor, RawImage, decodeImage, nchwBatchToNHWC } from '../../models/clip/image-processor';
import { loadCLIPVisionModel } from '../../models/clip/loader';
import { disposeVisionOutput } from '../../models/clip/vision-model';
import { Manifest } from '../manifest';
import { CaseRunner, RunContext, RunOutput } from '../runner';

export function isClipVisionManifest(m: Manifest): boolean {
  const cls = (m.reference as { class?: string } | undefined)?.class ?? '';
  return /CLIPVisionModel/.test(cls) || /^clip-vision/.test(m.fixture) || (m.config as { model_type?: string } | undefined)?.model_type === 'clip_vision_model';
}

function processorFor(ctx: RunContext): CLIPImageProcessor {
  const rel = (ctx.kase.args?.processor_config as string | undefined) ?? 'preprocessor/preprocessor_config.json';
  const file = path.join(ctx.dir, rel);
  return fs.existsSync(file) ? CLIPImageProcessor.fromFile(file, () => {}) : new CLIPImageProcessor();
}

function u8(img: RawImage): HostTensor {
  return hostTensor('uint8', [img.height, img.width, img.channels], img.data);
}

function runPreprocess(ctx: RunContext): RunOutput {
  const h = ctx.tensor('image_uint8');
  const [height, width, channels] = h.shape;
  const r = processorFor(ctx).preprocess({ data: Uint8Array.from(h.data), width, height, channels });
  return { outputs: new Map([['resized_uint8', u8(r.resized)], ['cropped_uint8', u8(r.cropped)], ['pixel_values', r.pixelValues]]) };
}

async function pixelsNHWC(ctx: RunContext): Promise<tf.Tensor4D> {
  if (ctx.kase.inputs?.pixel_values) {
    const pv = ctx.tensor('pixel_values');
    return tf.tidy(() => tf.transpose(toTf(pv), [0, 2, 3, 1]) as tf.Tensor4D); // NCHW → NHWC at the boundary
  }
  const images = ctx.kase.args?.images as string[] | undefined;
  if (!images) throw new Error(`case "${ctx.kase.name}": no pixel_values input and no args.images`);
  let proc = processorFor(ctx);
  const size = ctx.kase.args?.shortest_edge as number | undefined;
  if (size) proc = proc.withSize(size);
  const batch: HostTensor[] = [];
  for (const f of images) batch.push(proc.preprocess(await decodeImage(path.join(ctx.dir, f))).pixelValues);
  return nchwBatchToNHWC(batch);
}

async function runModel(ctx: RunContext): Promise<RunOutput> {
  const model = loadCLIPVisionModel(ctx.dir, { warn: () => {} });
  const pixels = await pixelsNHWC(ctx);
  try {
    const wantHidden = Object.keys(ctx.kase.expected ?? {}).some((k) => k.startsWith('hidden_states_'));
    const out = model.forward(pixels, { outputHiddenStates: wantHidden });
    const outputs = new Map<string, HostTensor>();
    try {
      outputs.set('last_hidden_state', fromTfSync(out.lastHiddenState));
      outputs.set('pooler_output', fromTfSync(out.pooledOutput));
      if (out.imageEmbeds) {
        outputs.set('image_embeds', fromTfSync(out.imageEmbeds));
        const cos = tf.tidy(() => {
          const e = tf.div(out.imageEmbeds!, tf.norm(out.imageEmbeds!, 'euclidean', -1, true));
          return tf.matMul(e, e, false, true);
        });
        outputs.set('cosine_similarity', fromTfSync(cos));
        cos.dispose();
      }
      out.hiddenStates?.forEach((h, i) => outputs.set(`hidden_states_${i}`, fromTfSync(h)));
    } finally {
      disposeVisionOutput(out);
    }
    return { outputs };
  } finally {
    pixels.dispose();
    model.dispose();
  }
}

export const runner: CaseRunner = {
  name: 'clip-vision',
  matches: (m) => isClipVisionManifest(m),
  async run(ctx) {
    if (ctx.kase.inputs?.image_uint8) return runPreprocess(ctx);
    return runModel(ctx);
  },
};
