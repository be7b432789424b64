/**
 * Builds a Sam from a preset (vit_b / vit_l / vit_h, like build_sam.py's `sam_model_registry`) or from a
 * config.json holding `_build_sam`'s arguments, with weights from safetensors files named like the official
 * checkpoints (see docs/sam-checkpoints.md for converting the .pth files).
 */
import * as fs from 'fs';
import * as path from 'path';
import { ParamStore } from '../../nn';
import { SamConfig, samConfigFrom, samPreset } from './config';
import { Sam } from './sam';

export interface BuildSamOptions {
  /** throw when the weights hold names no part takes (default true); otherwise warn */
  strict?: boolean;
  warn?: (msg: string) => void;
}

/** Builds from a parsed config and a ParamStore; the Sam owns the store afterwards. */
export function buildSamFromStore(store: ParamStore, config: SamConfig, opts: BuildSamOptions = {}): Sam {
  let sam: Sam;
  try {
    sam = new Sam(store, config);
  } catch (e) {
    store.dispose();
    throw e;
  }
  const unused = store.unusedKeys();
  if (unused.length > 0) {
    const msg = `SAM weights hold ${unused.length} unexpected parameter(s): ${unused.slice(0, 10).join(', ')}${unused.length > 10 ? ', …' : ''}`;
    if (opts.strict ?? true) {
      sam.dispose();
      throw new Error(`${msg} (config and checkpoint do not match?)`);
    }
    (opts.warn ?? console.warn)(msg);
  }
  return sam;
}

/** `buildSam('vit_b', 'sam_vit_b_01ec64.safetensors')` */
export function buildSam(preset: string, weights: string | string[], opts: BuildSamOptions = {}): Sam {
  return buildSamFromStore(ParamStore.fromSafetensors(weights), samPreset(preset), opts);
}

/**
 * A folder with `config.json` (`_build_sam` arguments; missing keys take vit_b / build_sam defaults) and
 * `model.safetensors` (or the weights file given).
 */
export function loadSamFromFolder(dir: string, opts: BuildSamOptions & { weightsFile?: string } = {}): Sam {
  const configPath = path.join(dir, 'config.json');
  if (!fs.existsSync(configPath)) throw new Error(`SAM folder ${dir}: config.json not found`);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(fs.readFileSync(configPath, 'utf8'));
  } catch (e) {
    throw new Error(`SAM folder ${dir}: config.json is not valid JSON (${(e as Error).message})`);
  }
  const config = samConfigFrom(raw, opts.warn);
  const weights = path.join(dir, opts.weightsFile ?? 'model.safetensors');
  if (!fs.existsSync(weights)) throw new Error(`SAM folder ${dir}: weights file ${path.basename(weights)} not found`);
  return buildSamFromStore(ParamStore.fromSafetensors(weights), config, opts);
}
