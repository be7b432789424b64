/**
 * Shared plumbing for native kernels: reading a tensor's float32 buffer out of the cpu backend,
 * wrapping its result, and falling back to the JS kernel for anything the addon does not cover.
 */
import { KernelConfig, KernelFunc, TensorInfo, getKernel, registerKernel, unregisterKernel } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

/** What a kernel body gets: the same args as a tfjs kernelFunc. */
export type KernelArgs = Parameters<KernelFunc>[0];

/** A native body returns null to mean "not mine, run the JS kernel" (dtype, layout, attrs it lacks). */
export type NativeBody = (args: KernelArgs) => TensorInfo | TensorInfo[] | null;

/** The cpu backend's own float32 storage of t, or null if t is not a plain float32 tensor. */
export function f32(backend: unknown, t: TensorInfo | undefined): Float32Array | null {
  if (!t || t.dtype !== 'float32') return null;
  const values = (backend as MathBackendCPU).data.get(t.dataId).values;
  return values instanceof Float32Array ? values : null;
}

/**
 * Readers of a fused kernel's inputs that fail loudly (these kernels have no JS kernel to fall back to):
 * `values` throws "<kernel>: <what> must be a float32 tensor", `optional` passes an absent input as null.
 */
export function inputReaders(kernel: string): {
  values: (backend: unknown, t: TensorInfo | undefined, what: string) => Float32Array;
  optional: (backend: unknown, t: TensorInfo | undefined, what: string) => Float32Array | null;
} {
  const values = (backend: unknown, t: TensorInfo | undefined, what: string): Float32Array => {
    const v = f32(backend, t);
    if (!v) throw new Error(`${kernel}: ${what} must be a float32 tensor`);
    return v;
  };
  return { values, optional: (backend, t, what) => (t ? values(backend, t, what) : null) };
}

export function output(backend: unknown, shape: number[], values: Float32Array): TensorInfo {
  return (backend as MathBackendCPU).makeTensorInfo(shape, 'float32', values);
}

export function int32(xs: readonly number[]): Int32Array {
  return Int32Array.from(xs);
}

/**
 * Below this many elements the memory-bound kernels stay in JS where the JS kernel is a plain loop
 * (same-shape elementwise, unary, softmax, contiguous slices, innermost reductions): for a few hundred
 * floats that loop costs what a native call does (measured, CPU µs per call incl. tfjs dispatch: add of 512
 * floats 7.7–14 JS vs 6.7–7.0 native; of 4928, 28–32 vs 8–10; sigmoid of 4928, 73–79 vs 12–45). Where the JS kernel walks index arrays per element
 * (broadcasting, transposes, strided slices, other reductions) the native one is faster at any size, and
 * its loops stay single-threaded when small, so no thread pool is woken. Conv and matmul are always native.
 */
let minElements = Number(process.env.DETEX_NATIVE_MIN_ELEMENTS ?? 1024);

/** Sets the threshold (tests use 0 to exercise every native path); returns the previous one. */
export function setMinNativeElements(n: number): number {
  const previous = minElements;
  minElements = n;
  return previous;
}

export function bigEnough(elements: number): boolean {
  return elements >= minElements;
}

const warned = new Set<string>();
/** How often each kernel handed a call back to JS (unsupported case or native error). */
const fallbacks = new Map<string, number>();

export function fallbackCounts(): Record<string, number> {
  return Object.fromEntries(fallbacks);
}

/**
 * The kernel config registered in place of the JS one. A native failure is reported once per
 * kernel and the JS kernel answers instead, so a gap in the addon costs speed, never a result.
 */
export function nativeKernel(kernelName: string, body: NativeBody): { config: KernelConfig; original: KernelConfig } {
  const original = getKernel(kernelName, 'cpu');
  if (!original) throw new Error(`no JS cpu kernel '${kernelName}' to replace (is @tensorflow/tfjs-backend-cpu loaded?)`);
  const fallback = original.kernelFunc;
  const kernelFunc: KernelFunc = (args) => {
    try {
      const r = body(args);
      if (r) return r;
    } catch (e) {
      if (!warned.has(kernelName)) {
        warned.add(kernelName);
        console.warn(`[detex] native ${kernelName} failed, using the JS kernel: ${(e as Error).message}`);
      }
    }
    fallbacks.set(kernelName, (fallbacks.get(kernelName) ?? 0) + 1);
    return fallback(args);
  };
  return { config: { ...original, kernelFunc }, original };
}

/** Removes our own (non-tfjs) cpu kernels by name; names not registered are skipped. */
export function unregisterOwnKernels(names: readonly string[]): void {
  for (const name of names) {
    try {
      unregisterKernel(name, 'cpu');
    } catch {
      /* not registered */
    }
  }
}

/** Registers kernels of our own (fused ops tfjs lacks), replacing a previous load; returns their names. */
export function registerOwnKernels(kernels: readonly KernelConfig[]): string[] {
  const names = kernels.map((k) => k.kernelName);
  unregisterOwnKernels(names);
  for (const k of kernels) registerKernel(k);
  return names;
}
