/**
 * Fused multi-head attention for the cpu backend (native/src/attention.cc): a new kernel, not a
 * replacement, so lib/nn/attention.ts asks for it by name (FUSED_ATTENTION) only when it is registered
 * and the call needs no bias and no probabilities; everything else keeps the unfused tfjs path.
 *
 *   runKernel(FUSED_ATTENTION, {q, k, v}, {heads, scale}) → [out [B, Nq, h·dv], lse [B, h, Nq]]
 *
 *   runKernel(FUSED_ATTENTION_GRAD, {q, k, v, out, lse, dy}, {heads, scale}) → [dq, dk, dv]
 * The gradient (a customGrad in lib/nn/attention.ts) re-runs the scores from q, k and the saved
 * log-sum-exp, so no N×N tensor is kept for the backward pass.
 */
import { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon';
import { f32, int32, output, registerOwnKernels, unregisterOwnKernels } from './kernel-util';

export const FUSED_ATTENTION = 'DetexFusedAttention';
export const FUSED_ATTENTION_GRAD = 'DetexFusedAttentionGrad';

interface Attrs { heads: number; scale: number }

function geometry(q: TensorInfo, k: TensorInfo, v: TensorInfo, heads: number): number[] {
  const [b, nq, c] = q.shape;
  const nk = k.shape[1];
  const cv = v.shape[2];
  if (q.shape.length !== 3 || k.shape[0] !== b || v.shape[0] !== b || v.shape[1] !== nk || k.shape[2] !== c) {
    throw new Error(`fused attention: q [${q.shape}], k [${k.shape}], v [${v.shape}] do not fit`);
  }
  if (c % heads !== 0 || cv % heads !== 0) throw new Error(`fused attention: widths ${c}/${cv} do not split into ${heads} heads`);
  return [b, nq, nk, heads, c / heads, cv / heads];
}

function values(backend: unknown, t: TensorInfo): Float32Array {
  const v = f32(backend, t);
  if (!v) throw new Error('fused attention: float32 tensors only');
  return v;
}

export function attentionKernels(addon: NativeAddon): KernelConfig[] {
  const forward: KernelConfig = {
    kernelName: FUSED_ATTENTION, backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { q, k, v } = inputs as Record<string, TensorInfo>;
      const { heads, scale } = attrs as unknown as Attrs;
      const g = geometry(q, k, v, heads);
      const out = new Float32Array(g[0] * g[1] * g[3] * g[5]);
      const lse = new Float32Array(g[0] * g[3] * g[1]);
      addon.attention(values(backend, q), values(backend, k), values(backend, v), out, lse, int32(g), scale);
      return [output(backend, [g[0], g[1], g[3] * g[5]], out), output(backend, [g[0], g[3], g[1]], lse)];
    },
  };
  const backward: KernelConfig = {
    kernelName: FUSED_ATTENTION_GRAD, backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { q, k, v, out, lse, dy } = inputs as Record<string, TensorInfo>;
      const { heads, scale } = attrs as unknown as Attrs;
      const g = geometry(q, k, v, heads);
      const dq = new Float32Array(q.shape.reduce((p, d) => p * d, 1));
      const dk = new Float32Array(k.shape.reduce((p, d) => p * d, 1));
      const dv = new Float32Array(v.shape.reduce((p, d) => p * d, 1));
      addon.attentionBackward(values(backend, q), values(backend, k), values(backend, v), values(backend, out), values(backend, lse),
        values(backend, dy), dq, dk, dv, int32(g), scale);
      return [output(backend, q.shape, dq), output(backend, k.shape, dk), output(backend, v.shape, dv)];
    },
  };
  return [forward, backward];
}

export function registerAttention(addon: NativeAddon): string[] {
  return registerOwnKernels(attentionKernels(addon));
}

export function unregisterAttention(): void {
  unregisterOwnKernels([FUSED_ATTENTION, FUSED_ATTENTION_GRAD]);
}
