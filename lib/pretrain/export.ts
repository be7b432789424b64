/**
 * Writes a trained component as a diffusers/transformers folder, like scripts/make-tiny-model does:
 * `config.json` + the weights under their reference names in PyTorch layout, F16 by default (the package
 * ships small models). Both files are written atomically.
 */
import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic } from '../io/atomic-write';
import { WritableTensor, writeSafetensors } from '../io/safetensors';
import { ParamStore } from '../nn/params';

export interface ExportOptions {
  /** weights file name (diffusers: diffusion_pytorch_model.safetensors; transformers: model.safetensors) */
  weightsFile: string;
  /** storage type of float tensors (default F16) */
  dtype?: 'F16' | 'F32';
  /** string metadata for the safetensors header */
  metadata?: Record<string, string>;
  /** only these parameters (default: every parameter the model took) */
  filter?: (name: string) => boolean;
}

/** Returns the bytes written for the weights. */
export function exportComponent(dir: string, config: Record<string, unknown>, store: ParamStore, o: ExportOptions): number {
  fs.mkdirSync(dir, { recursive: true });
  const tensors = new Map<string, WritableTensor>();
  for (const name of store.names()) {
    if (o.filter && !o.filter(name)) continue;
    const h = store.toHost(name);
    tensors.set(name, h.dtype === 'float32' ? { ...h, as: o.dtype ?? 'F16' } : h);
  }
  const file = path.join(dir, o.weightsFile);
  writeSafetensors(file, tensors, { format: 'pt', generator: 'node-red-contrib-detex lib/pretrain', ...o.metadata });
  writeFileAtomic(path.join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  return fs.statSync(file).size;
}
