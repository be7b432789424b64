/**
 * Chooses the compute backend once per process, best first:
 *   1. tensorflow via @tensorflow/tfjs-node-gpu (CUDA), 2. tensorflow via @tensorflow/tfjs-node,
 *   3. the pure-JS cpu backend with this package's native kernels (no 4 GiB cap, BLAS speed),
 *   4. wasm (XNNPACK; 4 GiB cap), 5. the pure-JS cpu backend.
 * DETEX_BACKEND=cpu|wasm|tensorflow forces one. The choice and the reason each better one was skipped are
 * logged once, so a user never wonders why training is slow.
 */
import * as tf from '@tensorflow/tfjs-core';
import { installLeanTapeSaves } from './lean-tape';
import { registerWasmConvGradient } from './wasm-gradients';

export type BackendName = 'tensorflow' | 'cpu' | 'wasm';

/** What the process is about to run, so the choice can follow the measurements. */
export interface BackendHint {
  /** float32 bytes of the model weights to be loaded (see lib/io/diffusers-folder `modelWeightBytes`) */
  modelBytes?: number;
}

/**
 * Above this much float32 weight WASM is a poor fallback: its heap is capped at 4 GiB (and silently corrupts
 * memory past it), and training needs several times the weights. cpu+native goes first at every size since
 * the native norm kernels and the small-op paths landed: on detex-tiny a 50-step sample took 2.09 s vs 2.90 s
 * on WASM and a DETEX step 321 vs 424 ms (bench, same run, load ~6); on detex-mini a 50-step sample 3.4–4.9 s
 * vs 7.8–8.5 s. (Before them WASM won below 1 GiB: bench/results/2026-11-26-cpu2-avx512.md.)
 */
export const LARGE_MODEL_BYTES = 1 << 30;

export interface BackendInfo {
  backend: BackendName;
  /** which package provides it, e.g. "@tensorflow/tfjs-node-gpu", "cpu+native", "wasm" */
  provider: string;
  nativeKernels: string[];
  /** why better options were not used */
  skipped: string[];
  forced: boolean;
}

let chosen: Promise<BackendInfo> | undefined;
let logger: (line: string) => void = (line) => console.log(line);

/** Where the one-line backend report goes (Node-RED nodes route it to RED.log). */
export function setBackendLogger(f: (line: string) => void): void {
  logger = f;
}

function loadUnion(): void {
  // The union package registers every gradient and the chained tensor ops into the shared tfjs-core engine;
  // tfjs-core's own CommonJS bundle does neither.
  require('@tensorflow/tfjs');
}

function tryRequire(name: string): string | undefined {
  try {
    require(name);
    return undefined;
  } catch (e) {
    const msg = (e as Error).message;
    if (/Cannot find module/.test(msg) && msg.includes(name)) return `${name} not installed`;
    if (/tfjs_binding\.node/.test(msg)) return `${name} installed without its native binding (install script did not run)`;
    if (/libcud|cudnn|CUDA/i.test(msg)) return `${name}: CUDA 11.2 / cuDNN 8.1 libraries not found (${msg.split('\n')[0]})`;
    return `${name} failed to load: ${msg.split('\n')[0]}`;
  }
}

async function useBackend(name: BackendName): Promise<boolean> {
  try {
    const ok = (await tf.setBackend(name)) && tf.getBackend() === name;
    // The cpu backend greets Node users with advice to install tfjs-node on first use; this module already
    // reports why tfjs-node is not used, once and accurately.
    if (ok && name === 'cpu') (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
    // Gradient saves without an Identity dispatch each (lean-tape.ts): most of a small model's training step.
    if (ok && name === 'cpu') installLeanTapeSaves();
    return ok;
  } catch {
    return false;
  }
}

function loadNative(): { loaded: boolean; kernels: string[]; reason?: string } {
  try {
    const mod = require('./native-kernels') as { loadNativeKernels: () => { loaded: boolean; kernels: string[]; reason?: string } };
    return mod.loadNativeKernels();
  } catch (e) {
    return { loaded: false, kernels: [], reason: `native kernels unavailable (${(e as Error).message.split('\n')[0]})` };
  }
}

async function choose(hint: BackendHint): Promise<BackendInfo> {
  loadUnion();
  const forcedName = process.env.DETEX_BACKEND?.trim();
  if (forcedName && !['cpu', 'wasm', 'tensorflow'].includes(forcedName)) {
    throw new Error(`DETEX_BACKEND="${forcedName}" is not one of cpu, wasm, tensorflow`);
  }
  const skipped: string[] = [];
  const want = (n: BackendName) => !forcedName || forcedName === n;

  if (want('tensorflow')) {
    for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
      const why = tryRequire(pkg);
      if (!why && (await useBackend('tensorflow'))) {
        return { backend: 'tensorflow', provider: pkg, nativeKernels: [], skipped, forced: !!forcedName };
      }
      skipped.push(why ?? `${pkg} loaded but the tensorflow backend did not initialise`);
    }
    if (forcedName === 'tensorflow') throw new Error(`DETEX_BACKEND=tensorflow but it is not available: ${skipped.join('; ')}`);
  }

  require('@tensorflow/tfjs-backend-cpu');
  const large = (hint.modelBytes ?? 0) > LARGE_MODEL_BYTES;
  const tryNative = async (): Promise<BackendInfo | undefined> => {
    if (!want('cpu')) return undefined;
    const native = loadNative();
    if (native.loaded && (await useBackend('cpu'))) {
      return { backend: 'cpu', provider: 'cpu+native', nativeKernels: native.kernels, skipped, forced: !!forcedName };
    }
    skipped.push(native.reason ?? 'native kernels not built');
    return undefined;
  };
  const tryWasm = async (): Promise<BackendInfo | undefined> => {
    if (!want('wasm')) return undefined;
    require('@tensorflow/tfjs-backend-wasm');
    if (await useBackend('wasm')) {
      registerWasmConvGradient();
      if (large) skipped.push(`wasm chosen for a ${(hint.modelBytes! / 2 ** 30).toFixed(1)} GiB model: its heap is capped at 4 GiB — build the native kernels (npm run build:native) to lift the cap`);
      return { backend: 'wasm', provider: 'wasm', nativeKernels: [], skipped, forced: !!forcedName };
    }
    skipped.push('wasm backend failed to initialise');
    if (forcedName === 'wasm') throw new Error('DETEX_BACKEND=wasm but the wasm backend did not initialise');
    return undefined;
  };
  for (const attempt of [tryNative, tryWasm]) {
    const info = await attempt();
    if (info) return info;
  }

  if (await useBackend('cpu')) {
    return { backend: 'cpu', provider: 'cpu (pure JS, slow)', nativeKernels: [], skipped, forced: !!forcedName };
  }
  throw new Error(`no tfjs backend could be initialised: ${skipped.join('; ')}`);
}

/**
 * Initialises the backend once; later calls return the same answer (the first caller's hint decides, so a
 * process that loads a model should pass its size).
 */
export function initBackend(hint: BackendHint = {}): Promise<BackendInfo> {
  if (!chosen) {
    chosen = choose(hint).then((info) => {
      const why = info.skipped.length ? ` — not used: ${info.skipped.join('; ')}` : '';
      const native = info.nativeKernels.length ? ` [native: ${info.nativeKernels.join(', ')}]` : '';
      logger(`[detex] compute backend: ${info.backend} (${info.provider})${info.forced ? ' forced by DETEX_BACKEND' : ''}${native}${why}`);
      return info;
    });
    chosen.catch(() => (chosen = undefined));
  }
  return chosen;
}
