/**
 * Parity runner for segment-anything fixtures (`sam-tiny`): config.json holds `_build_sam`'s arguments and
 * model.safetensors the official state_dict names. A case is recognised by what it holds:
 *   image_uint8 (HWC)        → resized_uint8 (HWC, exact), input_image (NCHW)       set_image internals
 *   args.sets                → coords_i_transformed, boxes_i_transformed             ResizeLongestSide
 *   expected image_pe        → image_pe (1, C, E, E)                                 get_dense_pe()
 *   input input_image        → image_embeddings (1, C, E, E)                         image_encoder
 *   input image_embeddings   → low_res_masks, iou_predictions, masks_logits, masks   SamPredictor.predict
 * Conversions NCHW ↔ NHWC happen here, at the boundary. Every model built for a case is disposed with it.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { HostTensor, fromTfSync, hostTensor, toTf } from '../../io/host-tensor';
import { SamConfig, samConfigFrom } from '../../models/sam/config';
import { loadSamFromFolder } from '../../models/sam/build';
import { SamPredictor } from '../../models/sam/predictor';
import { ResizeLongestSide, SizeHW } from '../../models/sam/resize-longest-side';
import { Sam, preprocessImage } from '../../models/sam/sam';
import { CaseRunner, RunContext, RunOutput } from '../runner';
import { Manifest, ManifestCase } from '../manifest';

/** True for a manifest whose reference is facebookresearch/segment-anything. */
export function isSamManifest(manifest: Manifest): boolean {
  const r = manifest.reference as { library?: string; repo?: string } | undefined;
  return r?.library === 'segment-anything' || r?.repo === 'facebookresearch/segment-anything';
}

export function readSamFixtureConfig(dir: string): SamConfig {
  const file = path.join(dir, 'config.json');
  return samConfigFrom(JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>, () => {});
}

/** (H, W) from a case argument, with a clear error when absent. */
function sizeArg(kase: ManifestCase, key: string): SizeHW {
  const v = kase.args?.[key];
  if (!Array.isArray(v) || v.length !== 2) throw new Error(`SAM case "${kase.name}": args.${key} must be [h, w], got ${JSON.stringify(v)}`);
  return [Number(v[0]), Number(v[1])];
}

/** Host NCHW ⇄ tfjs NHWC at the boundary. */
function nchwToNhwc(h: HostTensor): tf.Tensor4D {
  return tf.tidy(() => tf.transpose(toTf(h), [0, 2, 3, 1]) as tf.Tensor4D);
}
function nhwcToHostNchw(t: tf.Tensor4D): HostTensor {
  const n = tf.transpose(t, [0, 3, 1, 2]);
  try {
    return fromTfSync(n);
  } finally {
    n.dispose();
  }
}

/** `set_image` internals: PIL-bilinear ResizeLongestSide, normalise, pad. */
export function runSamPreprocess(config: SamConfig, imageUint8: HostTensor, targetLength = config.image_size): Map<string, HostTensor> {
  const resized = new ResizeLongestSide(targetLength).applyImage(imageUint8);
  const x = tf.tidy(() => {
    const img = tf.tensor4d(Int32Array.from(resized.data as Uint8Array), [1, ...resized.shape] as [number, number, number, number], 'int32');
    return preprocessImage(img, config);
  });
  try {
    return new Map([
      ['resized_uint8', resized],
      ['input_image', nhwcToHostNchw(x)],
    ]);
  } finally {
    x.dispose();
  }
}

interface CoordSet {
  index: number;
  original_size_hw: SizeHW;
  target_length: number;
}

/** apply_coords / apply_boxes for every set of the case. */
export function runSamCoordTransforms(sets: CoordSet[], tensor: (name: string) => HostTensor): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  for (const s of sets) {
    const t = new ResizeLongestSide(s.target_length);
    const coords = tensor(`coords_${s.index}`);
    const boxes = tensor(`boxes_${s.index}`);
    out.set(`coords_${s.index}_transformed`, hostTensor('float32', coords.shape, t.applyCoords(coords.data as Float32Array, s.original_size_hw)));
    out.set(`boxes_${s.index}_transformed`, hostTensor('float32', boxes.shape, t.applyBoxes(boxes.data as Float32Array, s.original_size_hw)));
  }
  return out;
}

/** The prompt cases: SamPredictor.predict on a given image embedding (NCHW), original-pixel prompts. */
export function runSamPrompt(
  sam: Sam,
  inputs: { get(name: string): HostTensor | undefined },
  args: { originalSize: SizeHW; inputSize: SizeHW; multimaskOutput: boolean },
  wanted: readonly string[],
): Map<string, HostTensor> {
  const emb = inputs.get('image_embeddings');
  if (!emb) throw new Error('SAM prompt case: input "image_embeddings" is missing');
  const predictor = new SamPredictor(sam);
  const e = nchwToNhwc(emb);
  try {
    predictor.setImageEmbedding(e, args.originalSize, args.inputSize);
  } finally {
    e.dispose();
  }
  try {
    const prompts = {
      pointCoords: inputs.get('point_coords'),
      pointLabels: inputs.get('point_labels'),
      box: inputs.get('box'),
      maskInput: inputs.get('mask_input'),
      multimaskOutput: args.multimaskOutput,
    };
    const withBatch = (h: HostTensor) => hostTensor(h.dtype, [1, ...h.shape], h.data);
    const out = new Map<string, HostTensor>();
    const logits = predictor.predict({ ...prompts, returnLogits: true });
    out.set('low_res_masks', withBatch(logits.lowResMasks));
    out.set('iou_predictions', withBatch(logits.iouPredictions));
    if (wanted.includes('masks_logits')) out.set('masks_logits', withBatch(logits.masks));
    if (wanted.includes('masks')) out.set('masks', withBatch(predictor.predict({ ...prompts, returnLogits: false }).masks));
    return out;
  } finally {
    predictor.dispose();
  }
}

async function run(ctx: RunContext): Promise<RunOutput> {
  const { kase, dir } = ctx;
  const inputs = kase.inputs ?? {};
  const expected = Object.keys(kase.expected ?? {});
  const config = readSamFixtureConfig(dir);

  if ('image_uint8' in inputs) {
    const target = Number(kase.args?.target_length ?? config.image_size);
    return { outputs: runSamPreprocess(config, ctx.tensor('image_uint8'), target) };
  }
  if (Array.isArray(kase.args?.sets)) {
    return { outputs: runSamCoordTransforms(kase.args!.sets as CoordSet[], ctx.tensor) };
  }

  const sam = loadSamFromFolder(dir);
  try {
    if (expected.includes('image_pe')) {
      const pe = sam.promptEncoder.getDensePe();
      try {
        return { outputs: new Map([['image_pe', nhwcToHostNchw(pe)]]) };
      } finally {
        pe.dispose();
      }
    }
    if ('input_image' in inputs) {
      const y = tf.tidy(() => {
        const x = nchwToNhwc(ctx.tensor('input_image'));
        return sam.imageEncoder.apply(x);
      });
      try {
        return { outputs: new Map([['image_embeddings', nhwcToHostNchw(y)]]) };
      } finally {
        y.dispose();
      }
    }
    if ('image_embeddings' in inputs) {
      const names = ['image_embeddings', 'point_coords', 'point_labels', 'box', 'mask_input'].filter((n) => n in inputs);
      const host = new Map(names.map((n) => [n, ctx.tensor(n)] as const));
      const outputs = runSamPrompt(
        sam,
        host,
        {
          originalSize: sizeArg(kase, 'original_size_hw'),
          inputSize: sizeArg(kase, 'input_size_hw'),
          multimaskOutput: Boolean(kase.args?.multimask_output ?? true),
        },
        expected,
      );
      return { outputs };
    }
    throw new Error(`SAM case "${kase.name}": no known inputs (${Object.keys(inputs).join(', ') || 'none'})`);
  } finally {
    sam.dispose();
  }
}

export const runner: CaseRunner = {
  name: 'sam',
  matches: (manifest) => isSamManifest(manifest),
  run,
};
