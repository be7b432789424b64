/**
 * Sum / Mean / Max / Min over any axes, and Transpose. The JS kernels transpose the reduced axes
 * to the end before reducing; group norm's mean over [H*W, C/G] pays that on every call.
 */
import { Max, Mean, Min, Sum, TensorInfo, Transpose, backend_util, util } from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon';
import { NativeBody, bigEnough, f32, int32, output } from './kernel-util';

const REDUCE: Array<[string, number, 'axis' | 'reductionIndices']> = [
  [Sum, 0, 'axis'], [Mean, 1, 'axis'], [Max, 2, 'reductionIndices'], [Min, 3, 'axis'],
];

export function reduceKernels(addon: NativeAddon): Array<[string, NativeBody]> {
  const reduce = (op: number, axisAttr: string): NativeBody => (args) => {
    const { x } = args.inputs as Record<string, TensorInfo>;
    const attrs = args.attrs as Record<string, unknown>;
    const xv = f32(args.backend, x);
    if (!xv || xv.length === 0) return null;
    const axes = util.parseAxisParam(attrs[axisAttr] as number | number[], x.shape);
    // The JS kernel transposes the reduced axes to the end first (element by element) unless they are
    // already innermost; only then is it a plain loop worth keeping for small inputs.
    if (backend_util.getAxesPermutation(axes, x.shape.length) === null && !bigEnough(xv.length)) return null;
    const [outShape] = backend_util.computeOutAndReduceShapes(x.shape, axes);
    const y = new Float32Array(outShape.reduce((p, d) => p * d, 1));
    addon.reduce(op, xv, int32(x.shape), int32(axes), y);
    const shape = attrs.keepDims ? backend_util.expandShapeToKeepDim(outShape, axes) : outShape;
    return output(args.backend, shape, y);
  };

  const transpose: NativeBody = (args) => {
    const { x } = args.inputs as Record<string, TensorInfo>;
    const perm = (args.attrs as { perm: number[] }).perm;
    const xv = f32(args.backend, x);
    // no size threshold: the JS kernel maps every element through index arrays (our loop stays
    // single-threaded below 32k elements, so small calls do not wake the thread pool)
    if (!xv || perm.length !== x.shape.length) return null;
    const y = new Float32Array(xv.length);
    addon.transpose(xv, int32(x.shape), int32(perm), y);
    return output(args.backend, perm.map((p) => x.shape[p]), y);
  };

  return [...REDUCE.map(([name, op, attr]): [string, NativeBody] => [name, reduce(op, attr)]), [Transpose, transpose]];
}
