/**
 * Every native kernel against the pure-JS cpu kernel it replaces, forward and through tf.grad,
 * on seeded random inputs. Reference: the same function run with the JS kernels put back
 * (unloadNativeKernels). Tolerance: max|native − js| ≤ 1e-4 · max(1, max|js|) per output.
 */
import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { scaledDotProductAttention } from '../../lib/nn/attention';
import { FUSED_ATTENTION, fallbackCounts, loadNativeKernels, nativeKernelStatus, setMinNativeElements, unloadNativeKernels } from '../../lib/backend/native-kernels';
import { seededTensor } from '../helpers/seeded-tensor';

// The union package registers the gradients (tfjs-core's CommonJS bundle alone does not).
// eslint-disable-next-line @typescript-eslint/no-require-imports
require('@tensorflow/tfjs');

type Out = tf.Tensor | tf.Tensor[] | tf.NamedTensorMap;

function flatten(out: Out): tf.Tensor[] {
  if (out instanceof tf.Tensor) return [out];
  if (Array.isArray(out)) return out;
  return Object.keys(out).sort().map((k) => out[k]);
}

/** Runs f with JS kernels, then native ones; compares every output. Unless allowFallback, the
 * native run must not hand any call back to a JS kernel (else we would compare JS with JS). */
function compare(f: () => Out, { tol = 1e-4, allowFallback = false } = {}): void {
  unloadNativeKernels();
  const ref = tf.tidy(() => flatten(f()).map((t) => ({ shape: t.shape, dtype: t.dtype, data: t.dataSync().slice() })));
  const r = loadNativeKernels();
  assert.ok(r.loaded, r.reason);
  const before = JSON.stringify(fallbackCounts());
  const got = tf.tidy(() => flatten(f()).map((t) => ({ shape: t.shape, dtype: t.dtype, data: t.dataSync().slice() })));
  if (!allowFallback) assert.strictEqual(JSON.stringify(fallbackCounts()), before, 'a kernel fell back to JS');
  assert.strictEqual(got.length, ref.length);
  got.forEach((g, i) => {
    const e = ref[i];
    assert.deepStrictEqual(g.shape, e.shape, `output ${i} shape`);
    assert.strictEqual(g.dtype, e.dtype, `output ${i} dtype`);
    let scale = 1;
    for (const v of e.data as Float32Array) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
    let worst = 0, at = -1;
    for (let j = 0; j < e.data.length; j++) {
      const a = Number(g.data[j]), b = Number(e.data[j]);
      if (Number.isNaN(b) || !Number.isFinite(b)) {
        assert.ok(Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)), `output ${i}[${j}]: ${a} vs ${b}`);
        continue;
      }
      const d = Math.abs(a - b);
      if (!(d <= worst)) { worst = d; at = j; }
    }
    assert.ok(worst <= tol * scale, `output ${i}: max |diff| ${worst} at ${at} > ${tol} * ${scale}`);
  });
}

describe('native kernels vs pure-JS cpu kernels', function () {
  this.timeout(120000);
  let baseline = 0;
  // Other suites share this process: put back the backend and kernels we found.
  let previousBackend = '';
  let wasLoaded = false;
  let minElements = 0;

  before(async function () {
    previousBackend = tf.getBackend();
    wasLoaded = nativeKernelStatus().loaded;
    await tf.setBackend('cpu');
    const r = loadNativeKernels();
    if (!r.loaded) {
      console.log(`    skipped: native kernels not available (${r.reason})`);
      this.skip();
    }
    baseline = tf.memory().numTensors;
    // Small tensors normally stay in JS; here every native path must run, whatever the size.
    minElements = setMinNativeElements(0);
  });
  after(async () => {
    setMinNativeElements(minElements);
    if (wasLoaded) loadNativeKernels();
    else unloadNativeKernels();
    if (previousBackend) await tf.setBackend(previousBackend);
  });
  afterEach(() => assert.strictEqual(tf.memory().numTensors, baseline, 'tensors leaked'));

  it('reports the kernels it serves', () => {
    const s = nativeKernelStatus();
    for (const k of ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'BatchMatMul', '_FusedMatMul', 'Softmax'])
      assert.ok(s.kernels.includes(k), k);
    assert.match(s.info!.onednn, /^\d+\.\d+/);
  });

  describe('conv2d forward and gradients', () => {
    const cases: Array<{ x: number[]; f: number[]; s: number | [number, number]; p: 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]]; d?: number }> = [
      { x: [2, 9, 9, 5], f: [3, 3, 5, 7], s: 1, p: 'same' },
      { x: [2, 9, 9, 5], f: [3, 3, 5, 7], s: 2, p: 'same' },
      { x: [2, 10, 10, 5], f: [3, 3, 5, 7], s: 2, p: 'same' },
      { x: [2, 9, 8, 5], f: [3, 3, 5, 7], s: 2, p: 'valid' },
      { x: [1, 7, 7, 4], f: [2, 2, 4, 3], s: 2, p: 'valid' },
      { x: [1, 8, 8, 4], f: [3, 3, 4, 6], s: [1, 2], p: [[0, 0], [1, 2], [2, 0], [0, 0]] },
      { x: [2, 6, 6, 8], f: [1, 1, 8, 16], s: 1, p: 'valid' },
      { x: [1, 16, 16, 32], f: [3, 3, 32, 32], s: 1, p: 'same' },
      { x: [2, 8, 8, 4], f: [4, 4, 4, 8], s: 2, p: 'same' },
    ];
    for (const c of cases) {
      it(`x=[${c.x}] f=[${c.f}] s=${c.s} p=${JSON.stringify(c.p)}`, () =>
        compare(() => {
          const x = seededTensor(c.x, 1), w = seededTensor(c.f, 2, -0.3, 0.3);
          const conv = (xx: tf.Tensor, ww: tf.Tensor) => tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, c.s, c.p);
          const y = conv(x, w);
          const r = seededTensor(y.shape, 3);
          const [gx, gw] = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(conv(xx, ww), r)))([x, w]);
          return [y, gx, gw];
        }));
    }
    it('x=[2,9,9,5] f=[3,3,5,7] dilation=2 same (forward)', () =>
      compare(() => tf.conv2d(seededTensor([2, 9, 9, 5], 4) as tf.Tensor4D, seededTensor([3, 3, 5, 7], 5) as tf.Tensor4D, 1, 'same', 'NHWC', 2)));
    it('x=[1,12,12,3] f=[3,3,3,4] dilation=[2,3] valid (forward)', () =>
      compare(() => tf.conv2d(seededTensor([1, 12, 12, 3], 6) as tf.Tensor4D, seededTensor([3, 3, 3, 4], 7) as tf.Tensor4D, 1, 'valid', 'NHWC', [2, 3])));
    it('conv2dTranspose x=[2,5,5,6] f=[3,3,4,6] s=2 same', () =>
      compare(() => {
        const x = seededTensor([2, 5, 5, 6], 8), w = seededTensor([3, 3, 4, 6], 9);
        const f = (xx: tf.Tensor, ww: tf.Tensor) =>
          tf.conv2dTranspose(xx as tf.Tensor4D, ww as tf.Tensor4D, [2, 10, 10, 4], 2, 'same');
        const [gx, gw] = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.square(f(xx, ww))))([x, w]);
        return [f(x, w), gx, gw];
      }));
  });

  describe('fused conv2d', () => {
    for (const activation of ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu', 'prelu'] as const) {
      it(`x=[2,8,8,6] f=[3,3,6,5] bias=[5] activation=${activation}`, () =>
        compare(() =>
          tf.fused.conv2d({
            x: seededTensor([2, 8, 8, 6], 10) as tf.Tensor4D, filter: seededTensor([3, 3, 6, 5], 11) as tf.Tensor4D,
            strides: 1, pad: 'same', bias: seededTensor([5], 12), activation,
            preluActivationWeights: activation === 'prelu' ? seededTensor([5], 13) : undefined, leakyreluAlpha: 0.1,
          }), { allowFallback: activation === 'prelu' }));
    }
    it('scalar bias, stride 2, gradients with relu', () =>
      compare(() => {
        const x = seededTensor([1, 9, 9, 3], 14), w = seededTensor([3, 3, 3, 4], 15), b = seededTensor([4], 16);
        const f = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
          tf.fused.conv2d({ x: xx as tf.Tensor4D, filter: ww as tf.Tensor4D, strides: 2, pad: 'same', bias: bb, activation: 'relu' });
        const s = tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 2, pad: 'valid', bias: tf.scalar(0.5) });
        return [s, ...tf.grads((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(f(xx, ww, bb)))([x, w, b])];
      }));
  });

  describe('matmul', () => {
    const cases: Array<[number[], number[], boolean, boolean]> = [
      [[3, 4], [4, 5], false, false],
      [[4, 3], [4, 5], true, false],
      [[3, 4], [5, 4], false, true],
      [[4, 3], [5, 4], true, true],
      [[2, 3, 4], [2, 4, 5], false, false],
      [[2, 3, 4], [4, 5], false, false],
      [[2, 4, 3], [1, 4, 5], true, false],
      [[1, 3, 4], [2, 5, 4], false, true],
      [[2, 3, 7, 8], [2, 3, 8, 6], false, false],
      [[16, 64, 40], [16, 64, 40], false, true],
      [[64, 300], [300, 70], false, false],
    ];
    for (const [sa, sb, ta, tb] of cases) {
      // tfjs' own BatchMatMul gradient cannot reduce a broadcast batch (JS kernels fail too): forward only there.
      const grads = sa.length === sb.length && sa.slice(0, -2).every((d, i) => d === sb[i]);
      it(`a=[${sa}] b=[${sb}] transposeA=${ta} transposeB=${tb}${grads ? ' with gradients' : ''}`, () =>
        compare(() => {
          const a = seededTensor(sa, 20), b = seededTensor(sb, 21);
          const f = (x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y, ta, tb);
          const y = f(a, b);
          if (!grads) return [y];
          const r = seededTensor(y.shape, 22);
          return [y, ...tf.grads((x: tf.Tensor, z: tf.Tensor) => tf.sum(tf.mul(f(x, z), r)))([a, b])];
        }));
    }
    for (const activation of ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu'] as const) {
      it(`fused a=[5,6] b=[7,6] transposeB bias=[7] activation=${activation}`, () =>
        compare(() =>
          tf.fused.matMul({ a: seededTensor([5, 6], 23), b: seededTensor([7, 6], 24), transposeB: true, bias: seededTensor([7], 25), activation, leakyreluAlpha: 0.3 })));
    }
    it('fused a=[2,5,6] b=[2,6,4] bias=[1,4] + gradients; bias=[5,1] falls back', () =>
      compare(() => {
        const a = seededTensor([2, 5, 6], 26), b = seededTensor([2, 6, 4], 27), bias = seededTensor([1, 4], 28);
        const f = (x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) => tf.fused.matMul({ a: x as tf.Tensor3D, b: y as tf.Tensor3D, bias: z, activation: 'relu' });
        const col = tf.fused.matMul({ a: seededTensor([5, 5], 29), b: seededTensor([5, 5], 30), bias: seededTensor([5, 1], 31) });
        return [col, f(a, b, bias), ...tf.grads((x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) => tf.sum(f(x, y, z)))([a, b, bias])];
      }, { allowFallback: true }));
  });

  describe('elementwise', () => {
    const pairs: Array<[number[], number[]]> = [
      [[2, 3, 4], [2, 3, 4]], [[2, 3, 4], [4]], [[2, 1, 4], [1, 3, 1]], [[5], [2, 5]], [[], [3, 2]],
      [[2, 16, 4, 5], [2, 1, 4, 1]], [[2, 32, 32, 32], [32]], [[3, 1], [1, 1]],
    ];
    const ops: Array<[string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor]> = [
      ['add', tf.add], ['sub', tf.sub], ['mul', tf.mul], ['div', tf.div],
      ['squaredDifference', tf.squaredDifference], ['maximum', tf.maximum], ['minimum', tf.minimum],
    ];
    for (const [sa, sb] of pairs) {
      it(`a=[${sa}] b=[${sb}] add/sub/mul/div/sqdiff/max/min + gradients of add, mul, div`, () =>
        compare(() => {
          const a = seededTensor(sa, 40), b = seededTensor(sb, 41, 0.5, 2);
          const outs = ops.map(([, op]) => op(a, b));
          const grads = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.div(tf.mul(tf.add(x, y), x), y)))([a, b]);
          return [...outs, ...grads];
        }));
    }
    it('int32 add/mul fall back to the JS kernels', () =>
      compare(() => [tf.add(tf.tensor1d([1, 2, 3], 'int32'), tf.scalar(4, 'int32')), tf.mul(tf.tensor1d([1, 2], 'int32'), tf.tensor1d([3, 4], 'int32'))], { allowFallback: true }));
    it('unary exp/sigmoid/tanh/sqrt/rsqrt/square/log/relu/abs/erf/neg x=[3,50,41] + gradients', () =>
      compare(() => {
        const x = seededTensor([3, 50, 41], 42, -3, 3), p = seededTensor([3, 50, 41], 43, 0.1, 4);
        const outs = [tf.exp(x), tf.sigmoid(x), tf.tanh(x), tf.sqrt(p), tf.rsqrt(p), tf.square(x), tf.log(p), tf.relu(x), tf.abs(x), tf.erf(x), tf.neg(x)];
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.sigmoid(t), tf.exp(tf.mul(t, 0.1)))))(x);
        return [...outs, g];
      }));
    for (const shape of [[3, 7], [2, 4, 33], [16, 64, 64]]) {
      it(`softmax x=[${shape}] + gradient`, () =>
        compare(() => {
          const x = seededTensor(shape, 44, -4, 4), r = seededTensor(shape, 45);
          return [tf.softmax(x), tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.softmax(t), r)))(x)];
        }));
    }
  });

  describe('reductions and transpose', () => {
    const cases: Array<[number[], number | number[], boolean]> = [
      [[2, 3, 4], -1, false], [[2, 3, 4], 0, true], [[2, 3, 4], [0, 2], false], [[2, 16, 4, 5], [1, 3], true],
      [[7], 0, false], [[2, 64, 64, 32], [1, 2], true], [[3, 5], [0, 1], false], [[4, 1, 6], 1, false],
    ];
    for (const [shape, axis, keepDims] of cases) {
      it(`x=[${shape}] axis=${JSON.stringify(axis)} keepDims=${keepDims} sum/mean/max/min + gradient of mean`, () =>
        compare(() => {
          const x = seededTensor(shape, 50);
          return [tf.sum(x, axis, keepDims), tf.mean(x, axis, keepDims), tf.max(x, axis, keepDims), tf.min(x, axis, keepDims),
            tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.mean(t, axis, keepDims))))(x)];
        }));
    }
    const perms: Array<[number[], number[]]> = [
      [[2, 3], [1, 0]], [[2, 5, 4, 3], [0, 2, 1, 3]], [[2, 5, 4, 3], [3, 1, 0, 2]], [[1, 6, 1, 7], [2, 3, 0, 1]], [[2, 3, 4], [0, 1, 2]],
    ];
    for (const [shape, perm] of perms) {
      it(`transpose x=[${shape}] perm=[${perm}] + gradient`, () =>
        compare(() => {
          const x = seededTensor(shape, 51), r = seededTensor(perm.map((p) => shape[p]), 52);
          return [tf.transpose(x, perm), tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.transpose(t, perm), r)))(x)];
        }));
    }
  });

  describe('slice and splitV', () => {
    const cases: Array<[number[], number[], number[]]> = [
      [[4, 6], [1, 2], [2, 3]], [[2, 5, 8], [0, 1, 0], [2, 3, 8]], [[2, 5, 8], [1, 0, 4], [1, 5, 4]], [[3, 4, 5, 6], [1, 1, 1, 1], [2, 2, 3, 4]], [[10], [3], [5]],
    ];
    for (const [shape, begin, size] of cases) {
      it(`slice x=[${shape}] begin=[${begin}] size=[${size}] + gradient`, () =>
        compare(() => {
          const x = seededTensor(shape, 70);
          return [tf.slice(x, begin, size), tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.slice(t, begin, size))))(x)];
        }));
    }
    it('split x=[2,16,40] into 2 along -1 (GEGLU), [3,5] along 1, + gradient', () =>
      compare(() => {
        const x = seededTensor([2, 16, 40], 71), y = seededTensor([2, 8, 6], 72);
        const [h, g] = tf.split(x, 2, -1);
        const parts = tf.split(y, [3, 5], 1);
        const grad = tf.grad((t: tf.Tensor) => { const [a, b] = tf.split(t, 2, -1); return tf.sum(tf.mul(a, tf.sigmoid(b))); })(x);
        return [h, g, ...parts, grad];
      }));
  });

  describe('gather (row copies)', () => {
    const cases: Array<{ x: number[]; idx: number[]; idxShape: number[]; axis: number }> = [
      { x: [50, 7], idx: [3, 0, 49, 3, 12], idxShape: [5], axis: 0 },
      { x: [40, 32], idx: [1, 39, 1, 0, 7, 20], idxShape: [2, 3], axis: 0 },
      { x: [3, 10, 20], idx: [9, 0, 4, 4], idxShape: [4], axis: 1 },
      { x: [2, 3, 17], idx: [16, 0, 5, 5, 1], idxShape: [5], axis: -1 },
    ];
    for (const c of cases) {
      it(`x=[${c.x}] indices=[${c.idxShape}] axis=${c.axis}, exact, + gradient`, () =>
        compare(() => {
          const x = seededTensor(c.x, 73);
          const idx = tf.tensor(c.idx, c.idxShape, 'int32');
          return [tf.gather(x, idx, c.axis), tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.gather(t, idx, c.axis))))(x)];
        }, { tol: 0 }));
    }
    it('an index out of range still raises the JS kernel\'s error', () => {
      const x = seededTensor([50, 7], 74);
      const idx = tf.tensor1d([2, 50], 'int32');
      try {
        assert.throws(() => tf.gather(x, idx), /GatherV2: the index value 50 is not in \[0, 49\]/);
      } finally {
        tf.dispose([x, idx]);
      }
    });
  });

  it('group norm + silu + attention block (composite) and its gradients', () =>
    compare(() => {
      const x = seededTensor([2, 8, 8, 16], 60), w = seededTensor([3, 3, 16, 16], 61, -0.2, 0.2), wq = seededTensor([16, 16], 62, -0.3, 0.3);
      const block = (xx: tf.Tensor, ww: tf.Tensor, q: tf.Tensor) => {
        const g = tf.reshape(xx, [2, 64, 4, 4]);
        const { mean, variance } = tf.moments(g, [1, 3], true);
        const n = tf.reshape(tf.mul(tf.sub(g, mean), tf.rsqrt(tf.add(variance, 1e-5))), [2, 8, 8, 16]);
        const h = tf.conv2d(tf.mul(n, tf.sigmoid(n)) as tf.Tensor4D, ww as tf.Tensor4D, 1, 'same');
        const t = tf.reshape(h, [2, 64, 16]);
        const qk = tf.matMul(tf.matMul(t, tf.tile(tf.expandDims(q, 0), [2, 1, 1])), t, false, true);
        return tf.matMul(tf.softmax(tf.mul(qk, 0.25)), t);
      };
      return [block(x, w, wq), ...tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(block(a, b, c)))([x, w, wq])];
    }));

  describe('fused attention (DetexFusedAttention) vs the unfused tfjs path', () => {
    // [B, Nq, Nk, C, Cv, heads]: row blocks of 64 with a ragged tail, cross-attention, several heads, dv ≠ d
    const cases: number[][] = [[2, 70, 70, 16, 16, 4], [2, 130, 7, 8, 8, 2], [1, 64, 33, 12, 6, 3], [3, 5, 5, 4, 4, 1]];
    for (const [b, nq, nk, c, cv, heads] of cases) {
      it(`q=[${b},${nq},${c}] k=[${b},${nk},${c}] v=[${b},${nk},${cv}] heads=${heads}, forward + gradients of q, k, v`, () => {
        loadNativeKernels();
        assert.ok(tf.getKernel(FUSED_ATTENTION, 'cpu'), 'fused attention not registered');
        compare(() => {
          const q = seededTensor([b, nq, c], 70), k = seededTensor([b, nk, c], 71), v = seededTensor([b, nk, cv], 72), w = seededTensor([b, nq, cv], 73);
          const f = (qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor) =>
            scaledDotProductAttention(qq as tf.Tensor3D, kk as tf.Tensor3D, vv as tf.Tensor3D, { heads }).out;
          // a weighted sum so every output element has its own upstream gradient
          return [f(q, k, v), ...tf.grads((a: tf.Tensor, bb: tf.Tensor, cc: tf.Tensor) => tf.sum(tf.mul(f(a, bb, cc), w)))([q, k, v])];
        });
      });
    }
    it('leaves no tensors behind (forward and gradients)', () => {
      loadNativeKernels();
      const q = seededTensor([2, 40, 8], 80), k = seededTensor([2, 40, 8], 81), v = seededTensor([2, 40, 8], 82);
      const before = tf.memory().numTensors;
      tf.dispose(tf.grads((a: tf.Tensor, bb: tf.Tensor, cc: tf.Tensor) =>
        tf.sum(scaledDotProductAttention(a as tf.Tensor3D, bb as tf.Tensor3D, cc as tf.Tensor3D, { heads: 2 }).out))([q, k, v]));
      tf.dispose(scaledDotProductAttention(q as tf.Tensor3D, k as tf.Tensor3D, v as tf.Tensor3D, { heads: 2 }).out);
      assert.strictEqual(tf.memory().numTensors, before);
      tf.dispose([q, k, v]);
    });
  });
});
