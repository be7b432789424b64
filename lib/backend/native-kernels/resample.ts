/**
 * Nearest ×2 upsampling of NHWC tensors (native/src/resample.cc), forward only: a new kernel, asked for by name
 * by lib/nn/upsample.ts when no gradient tape is recording (training keeps the composed, differentiable ops).
 *
 *   runKernel(UPSAMPLE_NEAREST_2X, {x}, {}) → y [B, 2H, 2W, C], y[b, 2i+di, 2j+dj, c] = x[b, i, j, c]
 */
import { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon';
import { inputReaders, int32, output, registerOwnKernels, unregisterOwnKernels } from './kernel-util';

export const UPSAMPLE_NEAREST_2X = 'DetexUpsampleNearest2x';

const { values } = inputReaders('upsample nearest ×2');

export function upsampleKernel(addon: NativeAddon): KernelConfig {
  return {
    kernelName: UPSAMPLE_NEAREST_2X, backendName: 'cpu',
    kernelFunc: ({ inputs, backend }) => {
      const { x } = inputs as Record<string, TensorInfo>;
      if (x.shape.length !== 4) throw new Error(`upsample nearest ×2: x [${x.shape}] is not [B, H, W, C]`);
      const [b, h, w, c] = x.shape;
      const y = new Float32Array(4 * b * h * w * c);
      addon.upsampleNearest2x(values(backend, x, 'x'), y, int32([b, h, w, c]));
      return output(backend, [b, 2 * h, 2 * w, c], y);
    },
  };
}

export function registerUpsample(addon: NativeAddon): string[] {
  return registerOwnKernels([upsampleKernel(addon)]);
}

export function unregisterUpsample(): void {
  unregisterOwnKernels([UPSAMPLE_NEAREST_2X]);
}
