/** `detex info`: which backend runs, which kernels are native, and why a faster backend is not in use. */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../backend';

export const usage = 'detex info                       show the compute backend, native kernels and why faster ones are not used';

export async function infoCommand(): Promise<number> {
  const info = await initBackend();
  console.log(`backend:        ${info.backend} (${info.provider})${info.forced ? ', forced by DETEX_BACKEND' : ''}`);
  console.log(`native kernels: ${info.nativeKernels.length ? info.nativeKernels.join(', ') : 'none'}`);
  for (const s of info.skipped) console.log(`not used:       ${s}`);
  console.log(`tfjs:           ${tf.version_core}`);
  console.log(`node:           ${process.version} (${process.platform}-${process.arch})`);
  return 0;
}
