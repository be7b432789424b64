/** `detex info`: which backend runs, which kernels are native, and why a faster backend is not in use. */
import { parseArgs } from 'util';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../backend';
import { loadNativeKernels } from '../backend/native-kernels';
import { modelWeightBytes } from '../io/diffusers-folder';
import { DEFAULT_MODEL_NAME, defaultModelDir, modelNote, resolveModelDir } from '../models/default-model';

export const usage = `detex info [--model DIR]        the model (default: the embedded ${DEFAULT_MODEL_NAME}), its compute backend, native kernels, and why faster ones are not used`;

export async function infoCommand(argv: string[] = []): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { model: { type: 'string' } } });
  const dir = resolveModelDir(values.model);
  const bytes = modelWeightBytes(dir);
  const info = await initBackend({ modelBytes: bytes });
  const embedded = values.model?.trim() ? '' : `, the embedded default ${DEFAULT_MODEL_NAME}`;
  console.log(`model:          ${dir} (${(bytes / 2 ** 20).toFixed(1)} MiB of float32 weights${embedded})`);
  const note = modelNote(dir);
  if (note) console.log(`model note:     ${note}`);
  if (!embedded) {
    let def: string;
    try {
      def = defaultModelDir();
    } catch (e) {
      def = (e as Error).message;
    }
    console.log(`default model:  ${def} (used when --model is not given)`);
  }
  console.log(`backend:        ${info.backend} (${info.provider})${info.forced ? ', forced by DETEX_BACKEND' : ''}`);
  for (const s of info.skipped) console.log(`not used:       ${s}`);
  // Loading only registers kernels for the cpu backend; it does not change the active backend.
  const native = loadNativeKernels();
  if (native.loaded) {
    const use = info.provider === 'cpu+native' ? 'in use' : `not in use (${info.forced ? 'DETEX_BACKEND chose another backend' : 'a faster backend was found'})`;
    console.log(`native kernels: built, ${use}: ${native.kernels.join(', ')}`);
  } else {
    console.log(`native kernels: not available (${native.reason ?? 'unknown reason'})`);
  }
  console.log(`tfjs:           ${tf.version_core}`);
  console.log(`node:           ${process.version} (${process.platform}-${process.arch})`);
  return 0;
}
