/**
 * Conv2D, FusedConv2D and both Conv2D gradients (NHWC) on the addon's oneDNN convolutions.
 * Geometry is taken from tfjs' own computeConv2DInfo so padding ('same' | 'valid' | explicit),
 * dilation and output sizes are exactly the ones the JS kernels would use.
 */
import { Conv2D, Conv2DBackpropFilter, Conv2DBackpropInput, FusedConv2D, TensorInfo, backend_util } from '@tensorflow/tfjs-core';
import { activationCode } from './activation';
import type { NativeAddon } from './addon';
import { KernelArgs, NativeBody, f32, int32, output } from './kernel-util';

type Shape4 = [number, number, number, number];
type Pad = 'same' | 'valid' | number | backend_util.ExplicitPadding;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;

/** The addon's 17-entry geometry, or null for layouts it does not take (NCHW). */
export function geometry(info: backend_util.Conv2DInfo): Int32Array | null {
  if (info.dataFormat !== 'channelsLast') return null;
  const p = info.padInfo;
  return int32([
    info.batchSize, info.inHeight, info.inWidth, info.inChannels,
    info.filterHeight, info.filterWidth, info.outChannels, info.outHeight, info.outWidth,
    info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth,
    p.top, p.left, p.bottom, p.right,
  ]);
}

export function convInfo(xShape: number[], filterShape: number[], attrs: KernelArgs['attrs'], dilations: number | [number, number]) {
  const a = attrs as { strides: number | [number, number]; pad: Pad; dataFormat: 'NHWC' | 'NCHW'; dimRoundingMode: Rounding };
  return backend_util.computeConv2DInfo(xShape as Shape4, filterShape as Shape4, a.strides, dilations, a.pad,
    a.dimRoundingMode, false, backend_util.convertConv2DDataFormat(a.dataFormat));
}

/** A bias the addon can add per output channel: [OC] (any rank of ones around it) or a scalar, expanded. */
function channelBias(values: Float32Array, shape: number[], outChannels: number): Float32Array | null {
  if (shape.length > 4) return null;
  if (values.length === outChannels && shape[shape.length - 1] === outChannels) return values;
  if (values.length === 1) return new Float32Array(outChannels).fill(values[0]);
  return null;
}

export function convKernels(addon: NativeAddon): Array<[string, NativeBody]> {
  const forward = (args: KernelArgs, fused: boolean): TensorInfo | null => {
    const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
    const attrs = args.attrs as { dilations: number | [number, number]; activation?: string; leakyreluAlpha?: number };
    const xv = f32(args.backend, x), wv = f32(args.backend, filter);
    if (!x || !filter || !xv || !wv) return null;
    const act = fused ? activationCode(attrs.activation) : 0;
    if (act === undefined || (fused && preluActivationWeights)) return null;
    const info = convInfo(x.shape, filter.shape, args.attrs, attrs.dilations);
    const g = geometry(info);
    if (!g) return null;
    let bv: Float32Array | null = null;
    if (fused && bias) {
      const raw = f32(args.backend, bias);
      bv = raw && channelBias(raw, bias.shape, info.outChannels);
      if (!bv) return null;
    }
    const y = new Float32Array(info.batchSize * info.outHeight * info.outWidth * info.outChannels);
    addon.conv2dForward(xv, wv, bv, y, g, act, attrs.leakyreluAlpha ?? 0.2);
    return output(args.backend, info.outShape, y);
  };

  const backpropInput: NativeBody = (args) => {
    const { dy, filter } = args.inputs as Record<string, TensorInfo>;
    const inputShape = (args.attrs as { inputShape: number[] }).inputShape;
    const dyv = f32(args.backend, dy), wv = f32(args.backend, filter);
    if (!dyv || !wv) return null;
    const g = geometry(convInfo(inputShape, filter.shape, args.attrs, 1));
    if (!g) return null;
    const dx = new Float32Array(inputShape.reduce((p, d) => p * d, 1));
    addon.conv2dBackwardData(dyv, wv, dx, g);
    return output(args.backend, [...inputShape], dx);
  };

  const backpropFilter: NativeBody = (args) => {
    const { x, dy } = args.inputs as Record<string, TensorInfo>;
    const filterShape = (args.attrs as { filterShape: number[] }).filterShape;
    const xv = f32(args.backend, x), dyv = f32(args.backend, dy);
    if (!xv || !dyv) return null;
    const g = geometry(convInfo(x.shape, filterShape, args.attrs, 1));
    if (!g) return null;
    const dw = new Float32Array(filterShape.reduce((p, d) => p * d, 1));
    addon.conv2dBackwardFilter(xv, dyv, dw, g);
    return output(args.backend, [...filterShape], dw);
  };

  return [
    [Conv2D, (args) => forward(args, false)],
    [FusedConv2D, (args) => forward(args, true)],
    [Conv2DBackpropInput, backpropInput],
    [Conv2DBackpropFilter, backpropFilter],
  ];
}
