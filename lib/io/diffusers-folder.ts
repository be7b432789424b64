/**
 * Reading a Hugging Face diffusers-layout model folder:
 *
 *   <root>/model_index.json            which component lives in which sub-folder, and its class
 *   <root>/unet/config.json + diffusion_pytorch_model[.fp16].safetensors
 *   <root>/vae/…, <root>/text_encoder/model[.fp16].safetensors, <root>/scheduler/scheduler_config.json
 *
 * Only safetensors are read: PyTorch `.bin` files are pickles (arbitrary code on load) and are refused with
 * an error that says how to convert them. Sharded weights (`*.safetensors.index.json`) resolve to their shards.
 */
import * as fs from 'fs';
import * as path from 'path';

export interface ModelIndex {
  /** e.g. "StableDiffusionPipeline" */
  className: string;
  /** component name → [library, class]; [null, null] for an absent optional component. */
  components: Record<string, [string | null, string | null]>;
  /** Plain values such as `requires_safety_checker`. */
  extras: Record<string, unknown>;
}

function readJson(file: string, what: string): Record<string, unknown> {
  if (!fs.existsSync(file)) throw new Error(`${what}: file not found: ${file}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${what}: ${file} is not valid JSON (${(e as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`${what}: ${file} must hold a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

/** Parse `<root>/model_index.json`. */
export function readModelIndex(root: string): ModelIndex {
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) {
    throw new Error(`diffusers folder: not a directory: ${root}`);
  }
  const raw = readJson(path.join(root, 'model_index.json'), 'diffusers folder');
  const components: ModelIndex['components'] = {};
  const extras: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key.startsWith('_')) continue;
    if (Array.isArray(value) && value.length === 2) {
      components[key] = [value[0] as string | null, value[1] as string | null];
    } else {
      extras[key] = value;
    }
  }
  return { className: String(raw._class_name ?? ''), components, extras };
}

/** Absolute path of a component's folder; throws naming the path if the index lists it but it is missing. */
export function componentDir(root: string, name: string, index: ModelIndex = readModelIndex(root)): string {
  const entry = index.components[name];
  if (!entry) {
    throw new Error(`diffusers folder ${root}: model_index.json has no component "${name}"`);
  }
  if (entry[0] === null) {
    throw new Error(`diffusers folder ${root}: component "${name}" is null in model_index.json (not part of this model)`);
  }
  const dir = path.join(root, name);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new Error(`diffusers folder ${root}: component "${name}" (${entry[1]}) has no folder ${dir}`);
  }
  return dir;
}

/** Read a component's config file (`config.json`, or `scheduler_config.json` for schedulers). */
export function readComponentConfig(dir: string): Record<string, unknown> {
  for (const name of ['config.json', 'scheduler_config.json', 'preprocessor_config.json']) {
    const file = path.join(dir, name);
    if (fs.existsSync(file)) return readJson(file, 'component config');
  }
  throw new Error(`component config: no config.json or scheduler_config.json in ${dir}`);
}

export interface WeightOptions {
  /** e.g. "fp16" → `diffusion_pytorch_model.fp16.safetensors`. */
  variant?: string;
}

const WEIGHT_STEMS = ['diffusion_pytorch_model', 'model'];

/**
 * The safetensors file(s) holding a component's weights: the single file, or every shard listed in its
 * `.safetensors.index.json`. With a variant, only the variant files are accepted (no silent fallback).
 */
export function weightFiles(dir: string, opts: WeightOptions = {}): string[] {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new Error(`weights: not a directory: ${dir}`);
  }
  const suffix = opts.variant ? `.${opts.variant}.safetensors` : '.safetensors';
  for (const stem of WEIGHT_STEMS) {
    const single = path.join(dir, stem + suffix);
    if (fs.existsSync(single)) return [single];
    const index = path.join(dir, `${stem}${suffix}.index.json`);
    if (fs.existsSync(index)) {
      const map = readJson(index, 'sharded weights').weight_map as Record<string, string> | undefined;
      if (!map) throw new Error(`sharded weights: ${index} has no "weight_map"`);
      const shards = [...new Set(Object.values(map))].map((f) => path.join(dir, f));
      for (const s of shards) {
        if (!fs.existsSync(s)) throw new Error(`sharded weights: ${index} lists ${s}, which does not exist`);
      }
      return shards;
    }
  }
  const present = fs.readdirSync(dir);
  const wanted = WEIGHT_STEMS.map((s) => s + suffix).join(' or ');
  const bins = present.filter((f) => f.endsWith('.bin') || f.endsWith('.ckpt') || f.endsWith('.pt'));
  if (bins.length > 0) {
    throw new Error(
      `weights: ${dir} has only PyTorch pickle weights (${bins.join(', ')}); .bin/.ckpt files are not supported ` +
        `(loading a pickle can run arbitrary code). Convert them to ${wanted} (e.g. with diffusers' save_pretrained(safe_serialization=True)).`,
    );
  }
  const variants = present.filter((f) => f.endsWith('.safetensors'));
  const hint = variants.length > 0 ? ` Found instead: ${variants.join(', ')}${opts.variant ? '' : ' (a variant? pass {variant})'}.` : '';
  throw new Error(`weights: no ${wanted} in ${dir}.${hint}`);
}

/**
 * Fill a config object with the reference library's defaults: missing keys take `defaults`, present keys are
 * taken as written (null included, as diffusers passes None on), and unknown keys are reported through `warn`
 * (then ignored), as diffusers' `extract_init_dict` does. Keys starting with "_" (`_class_name`,
 * `_diffusers_version`) are metadata.
 */
export function resolveConfig<T extends object>(
  raw: Record<string, unknown>,
  defaults: T,
  what: string,
  warn: (msg: string) => void = (m) => console.warn(m),
): T {
  const out: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  const unknown: string[] = [];
  for (const [key, value] of Object.entries(raw)) {
    if (key.startsWith('_')) continue;
    if (!(key in out)) {
      unknown.push(key);
      continue;
    }
    out[key] = value;
  }
  if (unknown.length > 0) warn(`${what}: config keys not used and ignored: ${unknown.join(', ')}`);
  return out as T;
}

/**
 * float32 bytes of every safetensors weight file in a model folder and its component folders (headers only:
 * nothing is loaded), so the backend can be chosen before loading. F16/BF16 weights count as float32, which is
 * how they are held once loaded.
 */
export function modelWeightBytes(root: string): number {
  const { SafetensorsReader } = require('./safetensors') as typeof import('./safetensors');
  const files: string[] = [];
  const visit = (dir: string, depth: number) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory() && depth > 0) visit(p, depth - 1);
      else if (e.isFile() && e.name.endsWith('.safetensors')) files.push(p);
    }
  };
  visit(root, 1);
  let bytes = 0;
  for (const f of files) {
    const r = SafetensorsReader.open(f);
    try {
      for (const k of r.keys()) bytes += r.info(k).shape.reduce((a, b) => a * b, 1) * 4;
    } finally {
      r.close();
    }
  }
  return bytes;
}
