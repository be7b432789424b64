/**
 * Fused GroupNorm (+ SiLU) and LayerNorm for the cpu backend (native/src/norm.cc): new kernels, not
 * replacements, asked for by name in lib/nn/norms.ts when registered (customGrad there: one backward call
 * gives dx, dγ and dβ). Channels last throughout.
 *
 *   runKernel(GROUP_NORM, {x, gamma?, beta?}, {groups, eps, silu}) → [y (x's shape), mean [B, G], rstd [B, G]]
 *     x [B, ..., C]: statistics per (batch, group) over every position and the group's C/G channels.
 *   runKernel(GROUP_NORM_GRAD, {x, gamma?, beta?, mean, rstd, dy}, same attrs) → [dx, dgamma?, dbeta?]
 *   runKernel(LAYER_NORM, {x, gamma, beta}, {eps}) → [y, mean [R], rstd [R]] over the last axis (R rows)
 *   runKernel(LAYER_NORM_GRAD, {x, gamma, mean, rstd, dy}, {eps}) → [dx, dgamma, dbeta]
 */
import { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon';
import { inputReaders, int32, output, registerOwnKernels, unregisterOwnKernels } from './kernel-util';

export const GROUP_NORM = 'DetexGroupNorm';
export const GROUP_NORM_GRAD = 'DetexGroupNormGrad';
export const LAYER_NORM = 'DetexLayerNorm';
export const LAYER_NORM_GRAD = 'DetexLayerNormGrad';
const NAMES = [GROUP_NORM, GROUP_NORM_GRAD, LAYER_NORM, LAYER_NORM_GRAD];

interface GnAttrs { groups: number; eps: number; silu: number }

const { values, optional } = inputReaders('fused norm');

/** [B, positions, C, G] for a channels-last x. */
function gnGeometry(x: TensorInfo, groups: number): number[] {
  if (x.shape.length < 2) throw new Error(`group norm: x [${x.shape}] needs a batch and a channel axis`);
  const b = x.shape[0], c = x.shape[x.shape.length - 1];
  const size = x.shape.reduce((p, d) => p * d, 1);
  if (c % groups !== 0) throw new Error(`group norm: ${c} channels do not split into ${groups} groups`);
  return [b, size / (b * c), c, groups];
}

export function normKernels(addon: NativeAddon): KernelConfig[] {
  const gn: KernelConfig = {
    kernelName: GROUP_NORM, backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, gamma, beta } = inputs as Record<string, TensorInfo | undefined>;
      const { groups, eps, silu } = attrs as unknown as GnAttrs;
      const g = gnGeometry(x!, groups);
      const y = new Float32Array(g[0] * g[1] * g[2]);
      const mean = new Float32Array(g[0] * g[3]), rstd = new Float32Array(g[0] * g[3]);
      addon.groupNorm(values(backend, x, 'x'), optional(backend, gamma, 'gamma'), optional(backend, beta, 'beta'), y, mean, rstd,
        int32(g), eps, silu ? 1 : 0);
      return [output(backend, [...x!.shape], y), output(backend, [g[0], g[3]], mean), output(backend, [g[0], g[3]], rstd)];
    },
  };
  const gnGrad: KernelConfig = {
    kernelName: GROUP_NORM_GRAD, backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, gamma, beta, mean, rstd, dy } = inputs as Record<string, TensorInfo | undefined>;
      const { groups, silu } = attrs as unknown as GnAttrs;
      const g = gnGeometry(x!, groups);
      const dx = new Float32Array(g[0] * g[1] * g[2]);
      const dgamma = gamma ? new Float32Array(g[2]) : null, dbeta = beta ? new Float32Array(g[2]) : null;
      addon.groupNormBackward(values(backend, x, 'x'), optional(backend, gamma, 'gamma'), optional(backend, beta, 'beta'),
        values(backend, mean, 'mean'), values(backend, rstd, 'rstd'), values(backend, dy, 'dy'), dx, dgamma, dbeta, int32(g), silu ? 1 : 0);
      const out = [output(backend, [...x!.shape], dx)];
      if (dgamma) out.push(output(backend, [g[2]], dgamma));
      if (dbeta) out.push(output(backend, [g[2]], dbeta));
      return out;
    },
  };
  const rows = (x: TensorInfo): [number, number] => {
    const c = x.shape[x.shape.length - 1];
    return [x.shape.reduce((p, d) => p * d, 1) / c, c];
  };
  const ln: KernelConfig = {
    kernelName: LAYER_NORM, backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, gamma, beta } = inputs as Record<string, TensorInfo>;
      const [r, c] = rows(x);
      const y = new Float32Array(r * c), mean = new Float32Array(r), rstd = new Float32Array(r);
      addon.layerNorm(values(backend, x, 'x'), values(backend, gamma, 'gamma'), values(backend, beta, 'beta'), y, mean, rstd, r, c,
        (attrs as { eps: number }).eps);
      return [output(backend, [...x.shape], y), output(backend, [r], mean), output(backend, [r], rstd)];
    },
  };
  const lnGrad: KernelConfig = {
    kernelName: LAYER_NORM_GRAD, backendName: 'cpu',
    kernelFunc: ({ inputs, backend }) => {
      const { x, gamma, mean, rstd, dy } = inputs as Record<string, TensorInfo>;
      const [r, c] = rows(x);
      const dx = new Float32Array(r * c), dgamma = new Float32Array(c), dbeta = new Float32Array(c);
      addon.layerNormBackward(values(backend, x, 'x'), values(backend, gamma, 'gamma'), values(backend, mean, 'mean'),
        values(backend, rstd, 'rstd'), values(backend, dy, 'dy'), dx, dgamma, dbeta, r, c);
      return [output(backend, [...x.shape], dx), output(backend, [c], dgamma), output(backend, [c], dbeta)];
    },
  };
  return [gn, gnGrad, ln, lnGrad];
}

export function registerNorms(addon: NativeAddon): string[] {
  return registerOwnKernels(normKernels(addon));
}

export function unregisterNorms(): void {
  unregisterOwnKernels(NAMES);
}
