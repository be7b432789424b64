/**
 * Parity runner for `dino-vits-tiny`-style fixtures (DINO v1 ViT): from the case's NCHW `image` it computes
 * every output such a case can expect, in PyTorch layout:
 *   cls_feature [B, C] = model(image); tokens_normed [B, 1+gh·gw, C] = get_intermediate_layers(image, 1)[0];
 *   cosine_similarity [B, B] of the CLS features; pos_embed_used [1, 1+gh·gw, C].
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { HostTensor, fromTfSync, toTf } from '../../io/host-tensor';
import { DinoVisionTransformer, cosineSimilarityMatrix } from '../../models/dino';
import { Manifest } from '../manifest';
import { CaseRunner, RunContext, RunOutput } from '../runner';

/** Every output name this runner can produce. */
export const DINO_OUTPUTS = ['cls_feature', 'tokens_normed', 'cosine_similarity', 'pos_embed_used'] as const;

/** True for a manifest whose reference is facebookresearch/dino (the fixture's "reference.library"). */
export function isDinoManifest(manifest: { reference?: { library?: string; repo?: string } }): boolean {
  const r = manifest.reference;
  return r?.library === 'dino' || r?.repo === 'facebookresearch/dino';
}

/**
 * Runs one case. `fixtureDir` holds config.json + model.safetensors; `inputs` must hold `image`
 * (NCHW float32, already normalised). `wanted` limits the outputs (default: all).
 */
export function runDinoCase(
  model: DinoVisionTransformer,
  inputs: Map<string, HostTensor> | Record<string, HostTensor>,
  wanted: readonly string[] = DINO_OUTPUTS,
): Record<string, HostTensor> {
  const get = (k: string) => (inputs instanceof Map ? inputs.get(k) : inputs[k]);
  const image = get('image');
  if (!image) throw new Error('DINO case: input "image" is missing');
  if (image.shape.length !== 4) throw new Error(`DINO case: input "image" must be NCHW, got shape [${image.shape}]`);
  for (const w of wanted) {
    if (!(DINO_OUTPUTS as readonly string[]).includes(w)) throw new Error(`DINO case: cannot produce "${w}" (can: ${DINO_OUTPUTS.join(', ')})`);
  }
  const out: Record<string, HostTensor> = {};
  const [, , h, w] = image.shape;
  const keep: Record<string, tf.Tensor> = tf.tidy(() => {
    const x = tf.transpose(toTf(image), [0, 2, 3, 1]) as tf.Tensor4D; // NCHW → NHWC at the boundary
    const r: Record<string, tf.Tensor> = {};
    if (wanted.includes('cls_feature') || wanted.includes('cosine_similarity')) {
      const cls = model.forward(x);
      if (wanted.includes('cls_feature')) r.cls_feature = cls;
      if (wanted.includes('cosine_similarity')) r.cosine_similarity = cosineSimilarityMatrix(cls, cls);
    }
    if (wanted.includes('tokens_normed')) r.tokens_normed = model.getIntermediateLayers(x, 1)[0];
    if (wanted.includes('pos_embed_used')) r.pos_embed_used = model.posEmbedFor(h, w);
    return r;
  });
  try {
    for (const [k, t] of Object.entries(keep)) out[k] = fromTfSync(t);
  } finally {
    tf.dispose(Object.values(keep));
  }
  return out;
}

/** Loads the model of a DINO fixture folder (config.json + model.safetensors). Caller disposes. */
export function loadDinoFixtureModel(fixtureDir: string, warn?: (m: string) => void): DinoVisionTransformer {
  return DinoVisionTransformer.fromFiles(path.join(fixtureDir, 'config.json'), path.join(fixtureDir, 'model.safetensors'), { warn });
}

/** The `detex parity` entry: any case of a facebookresearch/dino fixture. */
export const runner: CaseRunner = {
  name: 'dino',
  matches: (manifest: Manifest) => isDinoManifest(manifest as { reference?: { library?: string; repo?: string } }),
  async run(ctx: RunContext): Promise<RunOutput> {
    // Loaded per case and freed before returning: the engine counts tensors left behind as leaks.
    const model = loadDinoFixtureModel(ctx.dir);
    try {
      const wanted = Object.keys(ctx.kase.expected ?? {}).filter((k) => (DINO_OUTPUTS as readonly string[]).includes(k));
      for (const k of Object.keys(ctx.kase.intermediates ?? {})) if ((DINO_OUTPUTS as readonly string[]).includes(k)) wanted.push(k);
      const out = runDinoCase(model, { image: ctx.tensor('image') }, wanted.length ? wanted : DINO_OUTPUTS);
      return { outputs: new Map(Object.entries(out)) };
    } finally {
      model.dispose();
    }
  },
};
