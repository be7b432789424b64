/**
 * One AdamW step for one variable as one kernel (native/src/adamw.cc): a new kernel, asked for by name by
 * lib/detex/adamw.ts when registered; the composed tfjs ops there stay the path for other backends.
 *
 *   runKernel(ADAMW, {param, grad, m, v}, {lr, beta1, beta2, eps, weightDecay, bc1, bc2Sqrt}) → [param', m', v']
 *     all four inputs of one shape; bc1 = 1 − β1^t, bc2Sqrt = √(1 − β2^t).
 */
import { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon';
import { inputReaders, output, registerOwnKernels, unregisterOwnKernels } from './kernel-util';

export const ADAMW = 'DetexAdamW';

export interface AdamWAttrs { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; bc1: number; bc2Sqrt: number }

const { values } = inputReaders('AdamW');

export function adamWKernel(addon: NativeAddon): KernelConfig {
  return {
    kernelName: ADAMW, backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { param, grad, m, v } = inputs as Record<string, TensorInfo>;
      const { lr, beta1, beta2, eps, weightDecay, bc1, bc2Sqrt } = attrs as unknown as AdamWAttrs;
      for (const [what, t] of [['grad', grad], ['m', m], ['v', v]] as const) {
        if (t.shape.join() !== param.shape.join()) throw new Error(`AdamW: ${what} [${t.shape}] is not the parameter's shape [${param.shape}]`);
      }
      const n = param.shape.reduce((a, d) => a * d, 1);
      const p1 = new Float32Array(n), m1 = new Float32Array(n), v1 = new Float32Array(n);
      // The scalars as the composed path has them: computed in double, then float32 scalar tensors.
      const scalars = Float32Array.from([1 - lr * weightDecay, beta1, 1 - beta1, beta2, 1 - beta2, bc2Sqrt, eps, lr / bc1]);
      addon.adamW(values(backend, param, 'param'), values(backend, grad, 'grad'), values(backend, m, 'm'), values(backend, v, 'v'),
        p1, m1, v1, scalars, weightDecay !== 0 ? 1 : 0);
      const shape = [...param.shape];
      return [output(backend, shape, p1), output(backend, shape, m1), output(backend, shape, v1)];
    },
  };
}

export function registerAdamW(addon: NativeAddon): string[] {
  return registerOwnKernels([adamWKernel(addon)]);
}

export function unregisterAdamW(): void {
  unregisterOwnKernels([ADAMW]);
}
