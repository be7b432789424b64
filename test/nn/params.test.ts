import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { ParamStore } from '../../lib/nn/params';
import { Linear } from '../../lib/nn/linear';
import { Conv2d } from '../../lib/nn/conv2d';
import { GroupNorm, LayerNorm } from '../../lib/nn/norms';
import { scaledDotProductAttention } from '../../lib/nn/attention';
import { hostTensor } from '../../lib/io/host-tensor';
import { expectNoLeak } from '../helpers/leak';

const f32 = (shape: number[], f: (i: number) => number) => hostTensor('float32', shape, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => f(i)));

describe('ParamStore', () => {
  it('should convert a Linear weight (out=3, in=2) to [in, out] and back', () => {
    const store = ParamStore.fromHost({ 'l.weight': f32([3, 2], (i) => i), 'l.bias': f32([3], (i) => 10 * i) });
    const lin = new Linear(store, 'l', 2, 3);
    const x = tf.tensor2d([[1, 1]]);
    const y = lin.apply(x);
    x.dispose();
    // rows of W (out×in) are [0,1],[2,3],[4,5] → y = [1, 5, 9] + bias [0,10,20]
    assert.deepStrictEqual(Array.from(y.dataSync()), [1, 15, 29]);
    assert.deepStrictEqual(store.toHost('l.weight'), f32([3, 2], (i) => i));
    y.dispose();
    store.dispose();
  });

  it('should name the parameter, expected and found shape on mismatch, and report missing and unused keys', () => {
    const store = ParamStore.fromHost({ 'a.weight': f32([4, 2], () => 0), 'extra': f32([1], () => 0) });
    assert.throws(() => store.take('a.weight', [2, 4], 'linear'), /parameter "a\.weight": expected shape \[2,4\], found \[4,2\]/);
    assert.throws(() => store.take('b.weight', [1]), /missing parameter "b\.weight"/);
    store.take('a.weight', [4, 2], 'linear');
    assert.deepStrictEqual(store.unusedKeys(), ['extra']);
    store.dispose();
  });

  it('should rename stored keys on load (legacy names)', () => {
    const store = ParamStore.fromHost({ 'attn.query.weight': f32([1, 1], () => 2) }, { rename: (n) => n.replace('.query.', '.to_q.') });
    store.take('attn.to_q.weight', [1, 1], 'linear');
    assert.deepStrictEqual(store.unusedKeys(), []);
    store.dispose();
  });

  it('should give gradients only to parameters made trainable', async () => {
    const store = ParamStore.fromHost({ 'k.weight': f32([2, 2], (i) => i + 1), 'q.weight': f32([2, 2], (i) => i - 1) });
    const k = new Linear(store, 'k', 2, 2, { bias: false });
    const q = new Linear(store, 'q', 2, 2, { bias: false });
    const vars = store.makeTrainable((n) => n.startsWith('k.'));
    assert.deepStrictEqual([...vars.keys()], ['k.weight']);
    const x = tf.tensor2d([[1, 2]]);
    const { value, grads } = tf.variableGrads(() => tf.sum(q.apply(k.apply(x))) as tf.Scalar);
    assert.deepStrictEqual(Object.keys(grads).length, 1);
    value.dispose();
    Object.values(grads).forEach((g) => g.dispose());
    x.dispose();
    store.dispose();
  });
});

describe('nn blocks', () => {
  it('should compute GroupNorm x=[1,2,2,4] groups=2 like PyTorch (biased variance, affine)', async () => {
    await expectNoLeak(() => {
      const store = ParamStore.fromHost({ 'n.weight': f32([4], () => 2), 'n.bias': f32([4], () => 1) });
      const gn = new GroupNorm(store, 'n', 2, 4, 1e-5);
      const x = tf.tensor4d(Array.from({ length: 16 }, (_, i) => i), [1, 2, 2, 4]);
      const y = gn.apply(x);
      // group 0 holds channels 0,1 at 4 pixels: values {0,1,4,5,8,9,12,13}, mean 6.5, var 20.25
      const expected0 = 2 * ((0 - 6.5) / Math.sqrt(20.25 + 1e-5)) + 1;
      assert.ok(Math.abs(y.dataSync()[0] - expected0) < 1e-5);
      tf.dispose([x, y]);
      store.dispose();
    });
  });

  it('should normalise the last axis in LayerNorm', async () => {
    await expectNoLeak(() => {
      const store = ParamStore.fromHost({ 'n.weight': f32([2], () => 1), 'n.bias': f32([2], () => 0) });
      const x = tf.tensor2d([[1, 3]]);
      const y = new LayerNorm(store, 'n', 2, 0).apply(x);
      assert.deepStrictEqual(Array.from(y.dataSync()), [-1, 1]);
      tf.dispose([x, y]);
      store.dispose();
    });
  });

  it('should match a direct convolution for Conv2d x=[1,5,5,2] k=3 s=2 p=1', async () => {
    await expectNoLeak(() => {
      const store = ParamStore.fromHost({ 'c.weight': f32([3, 2, 3, 3], (i) => Math.sin(i)), 'c.bias': f32([3], (i) => i) });
      const conv = new Conv2d(store, 'c', 2, 3, 3, { stride: 2, padding: 1 });
      const xs = Array.from({ length: 50 }, (_, i) => Math.cos(i));
      const x = tf.tensor4d(xs, [1, 5, 5, 2]);
      const y = conv.apply(x);
      x.dispose();
      assert.deepStrictEqual(y.shape, [1, 3, 3, 3]);
      // output pixel (1,1), channel 2, computed by hand from the PyTorch-layout weight
      let acc = 2;
      for (let o = 0; o < 1; o++)
        for (let c = 0; c < 2; c++)
          for (let i = 0; i < 3; i++)
            for (let j = 0; j < 3; j++) acc += Math.sin(((2 * 2 + c) * 3 + i) * 3 + j) * Math.cos(((1 + i) * 5 + (1 + j)) * 2 + c);
      assert.ok(Math.abs(y.dataSync()[(1 * 3 + 1) * 3 + 2] - acc) < 1e-4);
      y.dispose();
      store.dispose();
    });
  });

  it('should return head-split attention probabilities that sum to 1', async () => {
    await expectNoLeak(() => {
      const q = tf.randomNormal([2, 5, 8]) as tf.Tensor3D;
      const k = tf.randomNormal([2, 7, 8]) as tf.Tensor3D;
      const { out, probs } = scaledDotProductAttention(q, k, k, { heads: 2, wantProbs: true });
      assert.deepStrictEqual(out.shape, [2, 5, 8]);
      assert.deepStrictEqual(probs!.shape, [2, 2, 5, 7]);
      const sums = tf.sum(probs!, -1);
      assert.ok(Math.abs(sums.dataSync()[3] - 1) < 1e-6);
      tf.dispose([q, k, out, probs!, sums]);
    });
  });
});

describe('ParamStore.initializing', () => {
  it('should create every parameter a block takes, seeded and independent of build order', () => {
    const { seededInitializer } = require('../../lib/nn/init') as typeof import('../../lib/nn/init');
    const a = ParamStore.initializing(seededInitializer(7));
    new Linear(a, 'x', 4, 3);
    new Linear(a, 'y', 3, 2);
    const b = ParamStore.initializing(seededInitializer(7));
    new Linear(b, 'y', 3, 2);
    new Linear(b, 'x', 4, 3);
    assert.deepStrictEqual(a.toHost('x.weight'), b.toHost('x.weight'));
    assert.deepStrictEqual(Array.from(a.toHost('x.bias').data), [0, 0, 0]);
    const c = ParamStore.initializing(seededInitializer(8));
    new Linear(c, 'x', 4, 3);
    assert.notDeepStrictEqual(Array.from(a.toHost('x.weight').data), Array.from(c.toHost('x.weight').data));
    [a, b, c].forEach((s) => s.dispose());
  });
});
