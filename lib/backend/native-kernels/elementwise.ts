/**
 * Elementwise kernels: broadcasting binary ops, unary math, and last-axis softmax.
 * Codes match native/src/binary.cc and native/src/unary.cc.
 */
import {
  Abs, Add, Erf, Exp, Log, Maximum, Minimum, Multiply, Neg, RealDiv, Relu, Rsqrt, Sigmoid, Softmax, Sqrt, Square,
  SquaredDifference, Sub, Tanh, TensorInfo, backend_util, util,
} from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon';
import { NativeBody, bigEnough, f32, int32, output } from './kernel-util';

const BINARY: Array<[string, number]> = [
  [Add, 0], [Sub, 1], [Multiply, 2], [RealDiv, 3], [SquaredDifference, 4], [Maximum, 5], [Minimum, 6],
];

const UNARY: Array<[string, number]> = [
  [Exp, 0], [Sigmoid, 1], [Tanh, 2], [Sqrt, 3], [Rsqrt, 4], [Square, 5], [Log, 6], [Relu, 7], [Abs, 8], [Erf, 9],
  // the JS Neg multiplies by a scalar through the broadcasting path (~0.9 ms a call on a DETEX step's tensors)
  [Neg, 10],
];

export function elementwiseKernels(addon: NativeAddon): Array<[string, NativeBody]> {
  const binary = (op: number): NativeBody => (args) => {
    const { a, b } = args.inputs as Record<string, TensorInfo>;
    const av = f32(args.backend, a), bv = f32(args.backend, b);
    if (!av || !bv) return null;
    const shape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    // The JS kernel is a plain loop only when the shapes are equal; broadcasting maps every output index
    // back through index arrays (~0.3 µs an element), slower than a native call at any size.
    if (util.arraysEqual(a.shape, b.shape) && !bigEnough(shape.reduce((p, d) => p * d, 1))) return null;
    const y = new Float32Array(shape.reduce((p, d) => p * d, 1));
    addon.binary(op, av, int32(a.shape), bv, int32(b.shape), y, int32(shape));
    return output(args.backend, shape, y);
  };

  const unary = (op: number): NativeBody => (args) => {
    const { x } = args.inputs as Record<string, TensorInfo>;
    const xv = f32(args.backend, x);
    if (!xv || !bigEnough(xv.length)) return null;
    const y = new Float32Array(xv.length);
    addon.unary(op, xv, y);
    return output(args.backend, [...x.shape], y);
  };

  const softmax: NativeBody = (args) => {
    const { logits } = args.inputs as Record<string, TensorInfo>;
    const dim = (args.attrs as { dim: number }).dim;
    const xv = f32(args.backend, logits);
    const rank = logits.shape.length;
    if (!xv || rank === 0 || !(dim === -1 || dim === rank - 1) || !bigEnough(xv.length)) return null;
    const cols = logits.shape[rank - 1];
    const y = new Float32Array(xv.length);
    addon.softmax(xv, xv.length / Math.max(cols, 1), cols, y);
    return output(args.backend, [...logits.shape], y);
  };

  return [
    ...BINARY.map(([name, op]): [string, NativeBody] => [name, binary(op)]),
    ...UNARY.map(([name, op]): [string, NativeBody] => [name, unary(op)]),
    [Softmax, softmax],
  ];
}
