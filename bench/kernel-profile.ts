/**
 * Which kernels a step spends its time in (tf.profile), for bench/profile.ts and for bench/run.ts, which names
 * the dominant kernels under every row that stays above 1.5× PyTorch.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface KernelShare {
  name: string;
  /** total kernel time over the profiled step */
  ms: number;
  /** ms over the summed time of all kernels of the step */
  share: number;
  calls: number;
}

export interface StepProfile {
  /** wall time of the profiled step (the profiler's own overhead included) */
  wallMs: number;
  /** summed time of the kernels, and their number of calls */
  kernelMs: number;
  calls: number;
  /** every kernel by total time, longest first */
  kernels: KernelShare[];
  /** customGrad and op wrappers the profiler also lists ("unnamed scope", "fusedConv2d__op"), left out */
  scopes: number;
}

/**
 * Kernel records grouped by name, longest total first. Records that `isKernel` rejects are composite scopes:
 * they time the kernels nested in them, which are listed too, so counting them would count that time twice.
 */
export function summarizeKernels(records: ReadonlyArray<{ name: string; kernelTimeMs: unknown }>, isKernel: (name: string) => boolean):
  Omit<StepProfile, 'wallMs'> {
  const by = new Map<string, { ms: number; calls: number }>();
  let scopes = 0;
  for (const k of records) {
    if (!isKernel(k.name)) { scopes++; continue; }
    const e = by.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    e.calls++;
    by.set(k.name, e);
  }
  const kernelMs = [...by.values()].reduce((s, e) => s + e.ms, 0);
  const kernels = [...by.entries()]
    .map(([name, e]) => ({ name, ms: e.ms, share: kernelMs > 0 ? e.ms / kernelMs : 0, calls: e.calls }))
    .sort((a, b) => b.ms - a.ms);
  return { kernelMs, calls: records.length - scopes, kernels, scopes };
}

/** Runs `step` once under tf.profile (warm it up first) and summarises its kernels on the active backend. */
export async function profileStep(step: () => Promise<unknown> | unknown): Promise<StepProfile> {
  const backend = tf.getBackend();
  const t0 = performance.now();
  const info = await tf.profile(async () => { await step(); });
  const wallMs = performance.now() - t0;
  return { wallMs, ...summarizeKernels(info.kernels, (name) => tf.getKernel(name, backend) !== undefined) };
}

/** "Conv2D 35.1 ms (28%, 33 calls); ..." */
export function formatKernels(kernels: readonly KernelShare[]): string {
  return kernels.map((k) => `${k.name} ${k.ms.toFixed(1)} ms (${(100 * k.share).toFixed(0)}%, ${k.calls} calls)`).join('; ');
}
