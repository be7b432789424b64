/**
 * The WASM backend has no Conv2DBackpropFilter kernel, so conv weights cannot train there. This replaces
 * the Conv2D gradient with one whose filter part is built from ops every backend has: im2col by strided
 * slices, then one matmul (matches PyTorch within 2e-6, tfjs-notes.md). The input part keeps tfjs'
 * conv2DBackpropInput. Routing through wasm's conv3d gradient is wrong for stride 2: not used.
 */
import * as tf from '@tensorflow/tfjs-core';

interface Conv2DAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dilations: [number, number] | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** dL/dW for y = conv2d(x, w): Σ over batch and output pixels of patch(x) ⊗ dy. */
export function conv2dFilterGradIm2col(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: [number, number, number, number], attrs: Conv2DAttrs): tf.Tensor4D {
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv2DInfo(
      x.shape, filterShape, attrs.strides, attrs.dilations, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast',
    );
    const { top, bottom, left, right } = info.padInfo;
    const xp = tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]]);
    const [kh, kw, cin, cout] = filterShape;
    const [b, ho, wo] = [dy.shape[0], dy.shape[1], dy.shape[2]];
    const cols: tf.Tensor[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const r0 = i * info.dilationHeight;
        const c0 = j * info.dilationWidth;
        cols.push(
          tf.stridedSlice(
            xp,
            [0, r0, c0, 0],
            [b, r0 + (ho - 1) * info.strideHeight + 1, c0 + (wo - 1) * info.strideWidth + 1, cin],
            [1, info.strideHeight, info.strideWidth, 1],
          ),
        );
      }
    }
    const patches = tf.reshape(tf.concat(cols, 3), [b * ho * wo, kh * kw * cin]) as tf.Tensor2D;
    const g = tf.matMul(patches, tf.reshape(dy, [b * ho * wo, cout]) as tf.Tensor2D, true, false);
    return tf.reshape(g, filterShape);
  });
}

/**
 * dx for y = gather(x, indices) along axis 0: the rows of dy summed into the rows they came from. tfjs uses
 * UnsortedSegmentSum, which WASM lacks; a one-hot matmul (2-D, the fast XNNPACK path) computes the same sum.
 * Meant for small tables (position embeddings, a sub-table of token rows): the one-hot is [rows, K].
 */
export function gatherGradOneHot(dy: tf.Tensor, indices: tf.Tensor, xShape: readonly number[]): tf.Tensor {
  const rows = xShape[0];
  const k = indices.size;
  if (rows * k > 1 << 26) {
    throw new Error(`gather gradient on WASM: a ${rows}-row table read ${k} times needs a ${rows}×${k} one-hot; train a small sub-table instead`);
  }
  return tf.tidy(() => {
    const rest = xShape.slice(1).reduce((a, b) => a * b, 1);
    const hot = tf.transpose(tf.oneHot(tf.reshape(tf.cast(indices, 'int32'), [k]), rows)) as tf.Tensor2D; // [rows, K]
    return tf.reshape(tf.matMul(hot, tf.reshape(dy, [k, rest]) as tf.Tensor2D), xShape as number[]);
  });
}

interface GatherAttrs {
  axis: number;
  batchDims: number;
}

interface Conv2DBackpropInputAttrs extends Omit<Conv2DAttrs, 'dilations'> {
  inputShape: [number, number, number, number];
}

let registered = false;

/**
 * Gradients WASM lacks kernels for, rebuilt from ops it has: Conv2D's filter gradient, Conv2DBackpropInput
 * (= conv2dTranspose) for both inputs, and GatherV2 along axis 0 (embedding and position tables).
 * Registered only when the WASM backend is chosen.
 */
export function registerWasmConvGradient(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient({
    kernelName: tf.GatherV2,
    inputsToSave: ['x', 'indices'],
    gradFunc: (dy, saved, attrs) => {
      const [x, indices] = saved;
      const a = attrs as unknown as GatherAttrs;
      const axis = a.axis < 0 ? a.axis + x.rank : a.axis;
      if (axis !== 0 || (a.batchDims ?? 0) !== 0) throw new Error(`gather gradient on WASM: only axis 0 without batch dims is supported (axis ${a.axis}, batchDims ${a.batchDims})`);
      return { x: () => gatherGradOneHot(dy as tf.Tensor, indices, x.shape), indices: () => tf.zerosLike(indices) };
    },
  });
  tf.registerGradient({
    kernelName: tf.Conv2DBackpropInput,
    inputsToSave: ['dy', 'filter'],
    gradFunc: (ddx, saved, attrs) => {
      const [dy, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
      const a = attrs as unknown as Conv2DBackpropInputAttrs;
      if (a.dataFormat !== 'NHWC') throw new Error(`Conv2DBackpropInput gradient: only NHWC is supported, got ${a.dataFormat}`);
      const g = ddx as tf.Tensor4D;
      // y = conv2dTranspose(dy, W) is the input gradient of a conv2d whose input has y's shape and whose
      // output has dy's shape, so dW is that conv's filter gradient with (input = ddx, output grad = dy).
      return {
        dy: () => tf.conv2d(g, filter, a.strides, a.pad as 'valid' | 'same' | number, 'NHWC', 1, a.dimRoundingMode),
        filter: () => conv2dFilterGradIm2col(g, dy, filter.shape, { ...a, dilations: 1 }),
      };
    },
  });
  tf.registerGradient({
    kernelName: tf.Conv2D,
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
      const a = attrs as unknown as Conv2DAttrs;
      if (a.dataFormat !== 'NHWC') throw new Error(`Conv2D gradient: only NHWC is supported, got ${a.dataFormat}`);
      const dil = typeof a.dilations === 'number' ? [a.dilations, a.dilations] : a.dilations;
      if (dil[0] !== 1 || dil[1] !== 1) throw new Error('Conv2D gradient: dilation rates greater than 1 are not supported');
      const dy4 = dy as tf.Tensor4D;
      return {
        x: () => tf.conv2dTranspose(dy4, filter, x.shape, a.strides, a.pad as 'valid' | 'same' | number, a.dimRoundingMode),
        filter: () => conv2dFilterGradIm2col(x, dy4, filter.shape, a),
      };
    },
  });
}
