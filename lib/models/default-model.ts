/**
 * The embedded default model shipped in the package (diffusers layout), used whenever no model folder is
 * configured. Until the pretrained `detex-mini` ships it is `detex-tiny`: random weights, draws noise.
 */
import * as fs from 'fs';
import * as path from 'path';

export const DEFAULT_MODEL_NAME = 'detex-tiny';

/** Absolute path of the embedded default model folder (works from lib/ sources and from dist/). */
export function defaultModelDir(): string {
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'models', DEFAULT_MODEL_NAME);
    if (fs.existsSync(path.join(candidate, 'model_index.json'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error(`the embedded default model "${DEFAULT_MODEL_NAME}" is missing from the package (models/${DEFAULT_MODEL_NAME}); reinstall the package`);
}

/** The configured folder, or the embedded default when none is given. */
export function resolveModelDir(configured?: string): string {
  return configured && configured.trim() ? path.resolve(configured.trim()) : defaultModelDir();
}

/**
 * model_index.json of a complete DETEX model folder: a StableDiffusionPipeline layout plus the CLIP image
 * encoder (attribute mappers, CLIP-I) and SAM (masks). `note` says what the weights are.
 */
export function detexModelIndex(note: string): Record<string, unknown> {
  return {
    _class_name: 'StableDiffusionPipeline',
    _diffusers_version: '0.27.2',
    _detex_note: note,
    unet: ['diffusers', 'UNet2DConditionModel'],
    vae: ['diffusers', 'AutoencoderKL'],
    text_encoder: ['transformers', 'CLIPTextModel'],
    tokenizer: ['transformers', 'CLIPTokenizer'],
    scheduler: ['diffusers', 'DDIMScheduler'],
    image_encoder: ['transformers', 'CLIPVisionModelWithProjection'],
    sam: ['segment_anything', 'Sam'],
    safety_checker: [null, null],
    feature_extractor: [null, null],
    requires_safety_checker: false,
  };
}
