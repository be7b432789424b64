/**
 * A whole pre-LN transformer encoder block as one cpu kernel (native/src/encoder-block.cc), forward only: a
 * new kernel, asked for by name in lib/nn/encoder-block.ts, which uses it only when no gradient tape is
 * recording (it has no gradient; training keeps the composed, differentiable path).
 *
 *   runKernel(ENCODER_BLOCK, inputs, {heads, eps, scale, act, window, gridH, gridW}) → y (x's shape)
 *     inputs: x [..., C] holding B·gridH·gridW tokens in grid order; ln1Gamma, ln1Beta, ln2Gamma, ln2Beta [C];
 *       wq [C, C] with wk, wv (separate projections) or wq [C, 3C] alone (fused, columns q | k | v);
 *       optional bq, bk, bv (or bq [3C] when fused); wo [C, C], optional bo; w1 [C, F], optional b1;
 *       w2 [F, C], optional b2; optional mask (additive, [1|B, 1, T, T], not with windows);
 *       optional relH [2·sideH − 1, C/heads], relW [2·sideW − 1, C/heads] (decomposed rel-pos bias).
 *     window > 0: attention within ws×ws windows of the zero-padded grid (segment-anything), else over each
 *       image's whole grid. act: an activation name (ENCODER_BLOCK_ACTS).
 */
import { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon';
import { inputReaders, int32, output, registerOwnKernels, unregisterOwnKernels } from './kernel-util';

export const ENCODER_BLOCK = 'DetexEncoderBlock';

/** Activation names (lib/nn/activations.ts) the kernel computes, and its codes for them. */
export const ENCODER_BLOCK_ACTS: Readonly<Record<string, number>> = {
  gelu: 1, gelu_new: 2, gelu_pytorch_tanh: 2, quick_gelu: 3, relu: 4, silu: 5, swish: 5,
};

interface Attrs { heads: number; eps: number; scale: number; act: string; window: number; gridH: number; gridW: number }

const { values, optional } = inputReaders('encoder block');

export function encoderBlockKernel(addon: NativeAddon): KernelConfig {
  return {
    kernelName: ENCODER_BLOCK, backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const t = inputs as Record<string, TensorInfo | undefined>;
      const a = attrs as unknown as Attrs;
      const x = t.x!;
      const act = ENCODER_BLOCK_ACTS[a.act];
      if (act === undefined) throw new Error(`encoder block: activation "${a.act}" is not supported`);
      const c = x.shape[x.shape.length - 1];
      const size = x.shape.reduce((p, d) => p * d, 1);
      const b = size / (a.gridH * a.gridW * c);
      if (!Number.isInteger(b) || b < 1) throw new Error(`encoder block: x [${x.shape}] is not B × ${a.gridH}×${a.gridW} tokens of ${c}`);
      const f = t.w1!.shape[1];
      const fused = t.wk === undefined;
      const y = new Float32Array(size);
      const v = (k: string) => values(backend, t[k], k);
      const o = (k: string) => optional(backend, t[k], k);
      addon.encoderBlock(v('x'), y, v('ln1Gamma'), v('ln1Beta'), v('wq'), fused ? null : v('wk'), fused ? null : v('wv'),
        o('bq'), o('bk'), o('bv'), v('wo'), o('bo'), v('ln2Gamma'), v('ln2Beta'), v('w1'), o('b1'), v('w2'), o('b2'),
        o('mask'), o('relH'), o('relW'), int32([b, a.gridH, a.gridW, c, a.heads, f, a.window, act, fused ? 1 : 0]), a.eps, a.scale);
      return output(backend, [...x.shape], y);
    },
  };
}

export function registerEncoderBlock(addon: NativeAddon): string[] {
  return registerOwnKernels([encoderBlockKernel(addon)]);
}

export function unregisterEncoderBlock(): void {
  unregisterOwnKernels([ENCODER_BLOCK]);
}
