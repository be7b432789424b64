/**
 * Loading CLIP weights from Hugging Face folders:
 *  - SD's split `text_encoder/` (CLIPTextModel[WithProjection], config model_type `clip_text_model`),
 *  - an `image_encoder/` (CLIPVisionModel[WithProjection], `clip_vision_model`),
 *  - a full `CLIPModel` checkpoint (`clip`, e.g. openai/clip-vit-large-patch14: text_model.*, vision_model.*,
 *    text_projection, visual_projection, logit_scale), from which either tower or both can be built.
 */
import * as fs from 'fs';
import * as path from 'path';
import { readComponentConfig, weightFiles, WeightOptions } from '../../io/diffusers-folder';
import { ParamStore } from '../../nn/params';
import { CLIPTextConfig, CLIPVisionConfig, clipConfigFrom, textConfigFrom, visionConfigFrom } from './config';
import { CLIPTextModel } from './text-model';
import { CLIPVisionModel } from './vision-model';

export interface CLIPLoadOptions extends WeightOptions {
  warn?: (msg: string) => void;
}

function modelType(raw: Record<string, unknown>, dir: string): string {
  const t = raw['model_type'];
  if (typeof t === 'string') return t;
  const arch = Array.isArray(raw['architectures']) ? String(raw['architectures'][0]) : '';
  if (arch.startsWith('CLIPTextModel')) return 'clip_text_model';
  if (arch.startsWith('CLIPVisionModel')) return 'clip_vision_model';
  if (arch === 'CLIPModel' || 'text_config' in raw) return 'clip';
  throw new Error(`CLIP loader: ${path.join(dir, 'config.json')} has no model_type and no CLIP architecture`);
}

export function readTextConfig(dir: string, warn?: (m: string) => void): CLIPTextConfig {
  const raw = readComponentConfig(dir);
  const type = modelType(raw, dir);
  if (type === 'clip_text_model') return textConfigFrom(raw, warn);
  if (type === 'clip') return clipConfigFrom(raw, warn).text_config;
  throw new Error(`CLIP loader: ${dir} holds a "${type}" model, not a CLIP text model`);
}

export function readVisionConfig(dir: string, warn?: (m: string) => void): CLIPVisionConfig {
  const raw = readComponentConfig(dir);
  const type = modelType(raw, dir);
  if (type === 'clip_vision_model') return visionConfigFrom(raw, warn);
  if (type === 'clip') return clipConfigFrom(raw, warn).vision_config;
  throw new Error(`CLIP loader: ${dir} holds a "${type}" model, not a CLIP vision model`);
}

function reportUnused(store: ParamStore, dir: string, ignorePrefixes: string[], warn: (m: string) => void): void {
  const unused = store.unusedKeys().filter((k) => !ignorePrefixes.some((p) => k.startsWith(p)));
  if (unused.length) warn(`CLIP loader: ${dir}: weights not used: ${unused.slice(0, 8).join(', ')}${unused.length > 8 ? ` (+${unused.length - 8} more)` : ''}`);
}

/** Text tower from `text_encoder/` or a full CLIP folder (with `text_projection` when present). */
export function loadCLIPTextModel(dir: string, opts: CLIPLoadOptions = {}): CLIPTextModel {
  const warn = opts.warn ?? ((m: string) => console.warn(m));
  const config = readTextConfig(dir, warn);
  const store = ParamStore.fromSafetensors(weightFiles(dir, opts));
  try {
    const model = new CLIPTextModel(store, config);
    // a full CLIP checkpoint also holds the vision tower; that is expected, not a surprise
    reportUnused(store, dir, ['vision_model.', 'visual_projection.', 'logit_scale'], warn);
    return model;
  } catch (e) {
    store.dispose();
    throw e;
  }
}

/** Vision tower from `image_encoder/` or a full CLIP folder (with `visual_projection` when present). */
export function loadCLIPVisionModel(dir: string, opts: CLIPLoadOptions = {}): CLIPVisionModel {
  const warn = opts.warn ?? ((m: string) => console.warn(m));
  const config = readVisionConfig(dir, warn);
  const store = ParamStore.fromSafetensors(weightFiles(dir, opts));
  try {
    const model = new CLIPVisionModel(store, config);
    reportUnused(store, dir, ['text_model.', 'text_projection.', 'logit_scale'], warn);
    return model;
  } catch (e) {
    store.dispose();
    throw e;
  }
}

/** Both towers of a full CLIPModel checkpoint, for CLIP-T / CLIP-I scores. */
export interface CLIPModel {
  text: CLIPTextModel;
  vision: CLIPVisionModel;
  /** exp() of the stored `logit_scale` (100 for trained CLIP), or of the config's init value. */
  logitScale: number;
  dispose(): void;
}

export function loadCLIPModel(dir: string, opts: CLIPLoadOptions = {}): CLIPModel {
  const warn = opts.warn ?? ((m: string) => console.warn(m));
  if (!fs.existsSync(path.join(dir, 'config.json'))) throw new Error(`CLIP loader: no config.json in ${dir}`);
  const raw = readComponentConfig(dir);
  if (modelType(raw, dir) !== 'clip') throw new Error(`CLIP loader: ${dir} is not a full CLIPModel (model_type "clip")`);
  const config = clipConfigFrom(raw, warn);
  // Two stores over the same files: each tower owns and disposes its own parameters.
  const files = weightFiles(dir, opts);
  const textStore = ParamStore.fromSafetensors(files);
  const visionStore = ParamStore.fromSafetensors(files);
  try {
    const text = new CLIPTextModel(textStore, config.text_config, { withProjection: true });
    const vision = new CLIPVisionModel(visionStore, config.vision_config, { withProjection: true });
    let logitScale = Math.exp(config.logit_scale_init_value);
    if (textStore.has('logit_scale')) {
      textStore.take('logit_scale', []);
      logitScale = Math.exp(textStore.tensor('logit_scale').dataSync()[0]);
    }
    return {
      text,
      vision,
      logitScale,
      dispose() {
        text.dispose();
        vision.dispose();
      },
    };
  } catch (e) {
    textStore.dispose();
    visionStore.dispose();
    throw e;
  }
}
