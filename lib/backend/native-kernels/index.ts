/**
 * Native CPU kernels for tfjs' pure-JS `cpu` backend (issue 6).
 *
 * loadNativeKernels() loads the optional C++ addon (native/, oneDNN) and re-registers the hot
 * kernels (conv and its gradients, matmul, softmax, broadcasting elementwise ops, reductions,
 * transpose, slices, gather) under backendName 'cpu', so nothing else in the package changes: tf.conv2d,
 * tf.grad and friends just get faster, and the cpu backend keeps its "no 4 GiB cap" property. Whatever
 * the addon does not cover (other dtypes, NCHW, prelu) falls through to the original JS kernel. It also
 * registers fused kernels of our own (attention, group/layer norm, a forward-only encoder block) that
 * lib/nn asks for by name.
 *
 *   DETEX_NATIVE=0                 never load it
 *   DETEX_NATIVE_THREADS=<n>       threads for oneDNN and the addon's loops (default: all cores)
 *   DETEX_NATIVE_ADDON=<file>      load the addon from elsewhere
 *   DETEX_NATIVE_MIN_ELEMENTS=<n>  smaller ops whose JS kernel is a plain loop (same-shape elementwise, unary,
 *                                  contiguous slices, innermost reductions) stay in JS (default 1024)
 *   DETEX_NATIVE_HUGEPAGES=0       do not madvise large outputs to huge pages (native/src/napi-util.h)
 *   DETEX_NATIVE_ATTENTION=0       do not register the fused attention kernel (lib/nn/attention.ts then runs unfused)
 *   DETEX_NATIVE_NORM=0            do not register the fused group/layer norm kernels (lib/nn/norms.ts then runs unfused)
 *   DETEX_NATIVE_BLOCK=0           do not register the forward-only encoder block kernel (CLIP and SAM image-encoder
 *                                  blocks then run composed at inference too)
 *   DETEX_NATIVE_CONV_ADD=0        do not register the forward-only conv + residual kernel (Conv2d.applyAdd then adds
 *                                  in a pass of its own at inference too)
 *   DETEX_NATIVE_UPSAMPLE=0        do not register the forward-only nearest ×2 kernel (upsampling then runs composed)
 *   DETEX_NATIVE_ADAMW=0           do not register the fused AdamW step (lib/detex/adamw.ts then runs its tfjs ops)
 *   DETEX_LEAN_TAPE=0              save gradient tensors through tfjs' own Identity kernel (lib/backend/lean-tape.ts)
 * OMP_WAIT_POLICY defaults to passive (see addon.ts).
 */
import '@tensorflow/tfjs-backend-cpu'; // the JS kernels must be registered before we replace them
import * as os from 'os';
import { KernelConfig, registerKernel, unregisterKernel } from '@tensorflow/tfjs-core';
import { NativeAddon, loadAddon } from './addon';
import { registerAttention, unregisterAttention } from './attention';
export { FUSED_ATTENTION } from './attention';
import { registerNorms, unregisterNorms } from './norm';
export { GROUP_NORM, LAYER_NORM } from './norm';
import { registerEncoderBlock, unregisterEncoderBlock } from './encoder-block';
export { ENCODER_BLOCK } from './encoder-block';
import { registerConvAdd, unregisterConvAdd } from './conv-add';
export { CONV2D_ADD } from './conv-add';
import { registerUpsample, unregisterUpsample } from './resample';
export { UPSAMPLE_NEAREST_2X } from './resample';
import { registerAdamW, unregisterAdamW } from './adamw';
export { ADAMW } from './adamw';
import { convKernels } from './conv';
import { elementwiseKernels } from './elementwise';
import { gatherKernels } from './gather';
import { NativeBody, nativeKernel } from './kernel-util';
export { fallbackCounts, setMinNativeElements } from './kernel-util';
import { matmulKernels } from './matmul';
import { reduceKernels } from './reduce';
import { sliceKernels } from './slice';

export interface NativeKernelsResult {
  loaded: boolean;
  /** kernel names now served natively on 'cpu' */
  kernels: string[];
  /** why nothing was loaded */
  reason?: string;
  /** oneDNN version, ISA it dispatches to, threads */
  info?: { onednn: string; isa: string; threads: number; file: string };
}

let state: NativeKernelsResult | undefined;
/** The JS kernels we replaced, to put back in unloadNativeKernels(). */
let replaced: KernelConfig[] = [];

function allKernels(addon: NativeAddon): Array<[string, NativeBody]> {
  return [...convKernels(addon), ...matmulKernels(addon), ...elementwiseKernels(addon), ...reduceKernels(addon), ...sliceKernels(addon), ...gatherKernels()];
}

function threadCount(): number {
  const env = Number(process.env.DETEX_NATIVE_THREADS);
  if (Number.isInteger(env) && env > 0) return env;
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/** Loads the addon and registers its kernels into the cpu backend. Idempotent. */
export function loadNativeKernels(): NativeKernelsResult {
  if (state?.loaded) return state;
  if (process.env.DETEX_NATIVE === '0') return (state = { loaded: false, kernels: [], reason: 'disabled by DETEX_NATIVE=0' });
  const found = loadAddon();
  if (!found.addon) return (state = { loaded: false, kernels: [], reason: found.reason });
  const { addon, file } = found;
  addon.setThreads(threadCount());
  const kernels: string[] = [];
  replaced = [];
  for (const [name, body] of allKernels(addon)) {
    const { config, original } = nativeKernel(name, body);
    unregisterKernel(name, 'cpu'); // registerKernel would warn "already registered" otherwise
    registerKernel(config);
    replaced.push(original);
    kernels.push(name);
  }
  // new kernels (nothing to replace); an addon built before them lacks the functions
  if (typeof addon.attention === 'function' && process.env.DETEX_NATIVE_ATTENTION !== '0') kernels.push(...registerAttention(addon));
  if (typeof addon.groupNorm === 'function' && process.env.DETEX_NATIVE_NORM !== '0') kernels.push(...registerNorms(addon));
  if (typeof addon.encoderBlock === 'function' && process.env.DETEX_NATIVE_BLOCK !== '0') kernels.push(...registerEncoderBlock(addon));
  // an addon built before the addend argument ignores it: the upsample function arrived with it, so it is the test
  if (typeof addon.upsampleNearest2x === 'function' && process.env.DETEX_NATIVE_CONV_ADD !== '0') kernels.push(...registerConvAdd(addon));
  if (typeof addon.upsampleNearest2x === 'function' && process.env.DETEX_NATIVE_UPSAMPLE !== '0') kernels.push(...registerUpsample(addon));
  if (typeof addon.adamW === 'function' && process.env.DETEX_NATIVE_ADAMW !== '0') kernels.push(...registerAdamW(addon));
  return (state = { loaded: true, kernels, info: { ...addon.info(), file } });
}

/** Puts the JS kernels back (tests compare against them; also an escape hatch). */
export function unloadNativeKernels(): void {
  for (const original of replaced) {
    unregisterKernel(original.kernelName, 'cpu');
    registerKernel(original);
  }
  replaced = [];
  unregisterAttention();
  unregisterNorms();
  unregisterEncoderBlock();
  unregisterConvAdd();
  unregisterUpsample();
  unregisterAdamW();
  state = undefined;
}

/** For `detex info`: which kernels are native right now, and why none are if so. */
export function nativeKernelStatus(): NativeKernelsResult {
  return state ?? { loaded: false, kernels: [], reason: 'loadNativeKernels() not called' };
}

export function listNativeKernels(): string[] {
  return state?.loaded ? [...state.kernels] : [];
}
