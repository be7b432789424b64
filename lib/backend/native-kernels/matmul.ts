/**
 * BatchMatMul and _FusedMatMul (bias + activation) on the addon's sgemm. Batch dims broadcast the
 * way the JS kernel allows: equal flattened batch, or one side's batch is 1.
 */
import { BatchMatMul, TensorInfo, _FusedMatMul, backend_util } from '@tensorflow/tfjs-core';
import { activationCode } from './activation';
import type { NativeAddon } from './addon';
import { KernelArgs, NativeBody, f32, int32, output } from './kernel-util';

const prod = (s: number[]) => s.reduce((p, d) => p * d, 1);

function matmul(addon: NativeAddon, args: KernelArgs, fused: boolean): TensorInfo | null {
  const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
  const attrs = args.attrs as { transposeA: boolean; transposeB: boolean; activation?: string; leakyreluAlpha?: number };
  const av = f32(args.backend, a), bv = f32(args.backend, b);
  if (!a || !b || !av || !bv || a.shape.length < 2 || b.shape.length < 2) return null;
  const act = fused ? activationCode(attrs.activation) : 0;
  if (act === undefined || (fused && preluActivationWeights)) return null;

  const ra = a.shape.length, rb = b.shape.length;
  const m = attrs.transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = attrs.transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = attrs.transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = attrs.transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (k !== kb) return null; // let the JS kernel raise its own message
  const outerA = a.shape.slice(0, -2), outerB = b.shape.slice(0, -2);
  const batchA = prod(outerA), batchB = prod(outerB);
  const outer = backend_util.assertAndGetBroadcastShape(outerA, outerB);
  const batch = Math.max(batchA, batchB);
  if (!(batchA === batchB || batchA === 1 || batchB === 1) || prod(outer) !== batch) return null;

  let biasV: Float32Array | null = null;
  if (fused && bias) {
    biasV = f32(args.backend, bias);
    // Only a bias along N ([N], [1,N], ...) or a scalar; anything else broadcasts differently.
    const alongN = biasV !== null && biasV.length === n && bias.shape[bias.shape.length - 1] === n;
    if (!biasV || !(alongN || biasV.length === 1) || bias.shape.length > outer.length + 2) return null;
  }
  const c = new Float32Array(batch * m * n);
  addon.batchMatMul(av, bv, c, int32([batchA, batchB, m, n, k, attrs.transposeA ? 1 : 0, attrs.transposeB ? 1 : 0]),
    biasV, act, attrs.leakyreluAlpha ?? 0.2);
  return output(args.backend, [...outer, m, n], c);
}

export function matmulKernels(addon: NativeAddon): Array<[string, NativeBody]> {
  return [
    [BatchMatMul, (args) => matmul(addon, args, false)],
    [_FusedMatMul, (args) => matmul(addon, args, true)],
  ];
}
