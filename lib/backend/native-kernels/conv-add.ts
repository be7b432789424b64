/**
 * A convolution with its residual added in the same kernel (native/src/conv.cc, oneDNN's sum post-op), forward
 * only: a new kernel, asked for by name by lib/nn/conv2d.ts (Conv2d.applyAdd) when no gradient tape is recording.
 * A resnet block's `skip + conv2(h)` is then one pass over the output instead of a conv and a full-size Add.
 *
 *   runKernel(CONV2D_ADD, {x, filter, bias?, addend}, {strides, pad, dilations}) → conv2d(x, filter) + bias + addend
 *     x [B, H, W, Cin] (NHWC), filter [KH, KW, Cin, Cout], bias [Cout], addend: the output's shape.
 */
import { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon';
import { convInfo, geometry } from './conv';
import { inputReaders, output, registerOwnKernels, unregisterOwnKernels } from './kernel-util';

export const CONV2D_ADD = 'DetexConv2DAdd';

const { values, optional } = inputReaders('conv2d + add');

export function convAddKernel(addon: NativeAddon): KernelConfig {
  return {
    kernelName: CONV2D_ADD, backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, filter, bias, addend } = inputs as Record<string, TensorInfo | undefined>;
      const info = convInfo(x!.shape, filter!.shape, { ...attrs, dataFormat: 'NHWC' }, (attrs as { dilations: number | [number, number] }).dilations);
      const g = geometry(info)!;
      if (addend!.shape.join() !== info.outShape.join()) throw new Error(`conv2d + add: addend [${addend!.shape}] is not the output's shape [${info.outShape}]`);
      if (bias && (bias.shape.length !== 1 || bias.shape[0] !== info.outChannels)) throw new Error(`conv2d + add: bias [${bias.shape}] is not [${info.outChannels}]`);
      const y = new Float32Array(info.batchSize * info.outHeight * info.outWidth * info.outChannels);
      addon.conv2dForward(values(backend, x, 'x'), values(backend, filter, 'filter'), optional(backend, bias, 'bias'), y, g, 0, 0,
        values(backend, addend, 'addend'));
      return output(backend, info.outShape, y);
    },
  };
}

export function registerConvAdd(addon: NativeAddon): string[] {
  return registerOwnKernels([convAddKernel(addon)]);
}

export function unregisterConvAdd(): void {
  unregisterOwnKernels([CONV2D_ADD]);
}
