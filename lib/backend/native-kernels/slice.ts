/** Slice and SplitV (GEGLU's chunk of [B, N, 2F] along the last axis) as native strided copies. */
import { Slice, SplitV, TensorInfo, backend_util, slice_util, util } from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon';
import { NativeBody, bigEnough, f32, int32, output } from './kernel-util';

export function sliceKernels(addon: NativeAddon): Array<[string, NativeBody]> {
  const copy = (backend: unknown, xv: Float32Array, shape: number[], begin: number[], size: number[]): TensorInfo => {
    const y = new Float32Array(size.reduce((p, d) => p * d, 1));
    addon.slice(xv, int32(shape), int32(begin), int32(size), y);
    return output(backend, size, y);
  };

  const slice: NativeBody = (args) => {
    const { x } = args.inputs as Record<string, TensorInfo>;
    const xv = f32(args.backend, x);
    if (!xv) return null;
    const a = args.attrs as { begin: number | number[]; size: number | number[] };
    const [begin, size] = slice_util.parseSliceParams(x, a.begin, a.size);
    slice_util.assertParamsValid(x, begin, size);
    // A contiguous slice is a subarray copy in JS; any other walks index arrays element by element.
    if (slice_util.isSliceContinous(x.shape, begin, size) && !bigEnough(xv.length)) return null;
    return copy(args.backend, xv, x.shape, begin, size);
  };

  const splitV: NativeBody = (args) => {
    const { x } = args.inputs as Record<string, TensorInfo>;
    const xv = f32(args.backend, x);
    if (!xv) return null;
    const a = args.attrs as { numOrSizeSplits: number | number[]; axis: number };
    const axis = util.parseAxisParam(a.axis, x.shape)[0];
    // splits along the outermost non-trivial axis are contiguous copies in JS too
    if (x.shape.slice(0, axis).every((d) => d === 1) && !bigEnough(xv.length)) return null;
    const sizes = backend_util.prepareSplitSize(x, a.numOrSizeSplits, axis);
    const begin = x.shape.map(() => 0);
    return sizes.map((s) => {
      const size = [...x.shape];
      size[axis] = s;
      const out = copy(args.backend, xv, x.shape, [...begin], size);
      begin[axis] += s;
      return out;
    });
  };

  return [[Slice, slice], [SplitV, splitV]];
}
