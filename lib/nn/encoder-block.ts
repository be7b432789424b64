/**
 * A pre-LN transformer encoder block as one native kernel at inference:
 *   h = x + proj(attention(qkv(norm1(x)))),   y = h + fc2(act(fc1(norm2(h))))
 * (CLIP's encoder layers, segment-anything's image-encoder blocks). The kernel (native/src/encoder-block.cc)
 * has no gradient, so it is used only when no gradient tape is recording: `tf.engine().isTapeOn()` is false
 * outside tf.grad / tf.variableGrads (and inside a customGrad forward, whose inner ops are not taped either).
 * Under a tape, e.g. DETEX training backpropagating through the CLIP text encoder into new token embeddings,
 * fusedEncoderBlock returns null and the caller runs its composed, differentiable ops. Both paths compute the
 * same function (test/backend/native-encoder-block.test.ts compares them).
 */
import * as tf from '@tensorflow/tfjs-core';
import { ENCODER_BLOCK, ENCODER_BLOCK_ACTS } from '../backend/native-kernels/encoder-block';
import { Linear } from './linear';
import { LayerNorm } from './norms';

export interface EncoderBlockLayers {
  norm1: LayerNorm;
  /** one Linear C → 3C with columns q | k | v (segment-anything), or three C → C (CLIP) */
  qkv: Linear | readonly [Linear, Linear, Linear];
  proj: Linear;
  norm2: LayerNorm;
  fc1: Linear;
  fc2: Linear;
}

export interface EncoderBlockOptions {
  heads: number;
  /** activation name as in lib/nn/activations.ts (`quick_gelu`, `gelu`, ...) */
  act: string;
  /** each image's tokens as an H×W grid in row-major order (a sequence is [1, N]) */
  grid: [number, number];
  /** attention within window×window tiles of the zero-padded grid (segment-anything), 0/absent: whole grid */
  window?: number;
  /** additive logit bias [1|B, 1, T, T] (causal/padding masks); not with windows */
  mask?: tf.Tensor;
  /** decomposed relative position tables [2·side − 1, head_dim] for the attended grid's height and width */
  relPos?: { h: tf.Tensor2D; w: tf.Tensor2D };
}

/** Whether the fused kernel can run this block now; the reasons it cannot are all "run composed instead". */
function serves(x: tf.Tensor, l: EncoderBlockLayers, o: EncoderBlockOptions): boolean {
  if (x.dtype !== 'float32' || tf.engine().isTapeOn() || !tf.getKernel(ENCODER_BLOCK, tf.getBackend())) return false;
  if (ENCODER_BLOCK_ACTS[o.act] === undefined || l.norm1.eps !== l.norm2.eps) return false;
  const [gh, gw] = o.grid;
  const c = x.shape[x.shape.length - 1];
  if (c % o.heads !== 0 || x.size % (gh * gw * c) !== 0) return false;
  const side = o.window ? [o.window, o.window] : [gh, gw];
  if (o.relPos && (o.relPos.h.shape[0] !== 2 * side[0] - 1 || o.relPos.w.shape[0] !== 2 * side[1] - 1)) return false; // resized tables: composed
  if (o.mask) {
    const t = gh * gw;
    const m = o.mask.shape;
    if (o.window || m.length !== 4 || m[1] !== 1 || m[2] !== t || m[3] !== t || !(m[0] === 1 || m[0] === x.size / (t * c))) return false;
  }
  return true;
}

/**
 * The block's output (x's shape) from the fused kernel, or null when it cannot serve this call (a gradient
 * tape is recording, the kernel is not registered on this backend, an unsupported activation or layout):
 * the caller then runs its composed ops.
 */
export function fusedEncoderBlock(x: tf.Tensor, l: EncoderBlockLayers, o: EncoderBlockOptions): tf.Tensor | null {
  if (!serves(x, l, o)) return null;
  const inputs: tf.NamedTensorMap = {};
  const put = (name: string, t: tf.Tensor | undefined) => {
    if (t) inputs[name] = t;
  };
  put('x', x);
  const n1 = l.norm1.tensors(), n2 = l.norm2.tensors();
  put('ln1Gamma', n1.gamma);
  put('ln1Beta', n1.beta);
  put('ln2Gamma', n2.gamma);
  put('ln2Beta', n2.beta);
  const putLinear = (w: string, b: string, lin: Linear) => {
    const t = lin.tensors();
    put(w, t.weight);
    put(b, t.bias);
  };
  if (l.qkv instanceof Linear) putLinear('wq', 'bq', l.qkv);
  else {
    putLinear('wq', 'bq', l.qkv[0]);
    putLinear('wk', 'bk', l.qkv[1]);
    putLinear('wv', 'bv', l.qkv[2]);
  }
  putLinear('wo', 'bo', l.proj);
  putLinear('w1', 'b1', l.fc1);
  putLinear('w2', 'b2', l.fc2);
  put('mask', o.mask);
  put('relH', o.relPos?.h);
  put('relW', o.relPos?.w);
  const c = x.shape[x.shape.length - 1];
  const attrs = { heads: o.heads, eps: l.norm1.eps, scale: 1 / Math.sqrt(c / o.heads), act: o.act, window: o.window ?? 0, gridH: o.grid[0], gridW: o.grid[1] };
  return tf.engine().runKernel(ENCODER_BLOCK, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}
