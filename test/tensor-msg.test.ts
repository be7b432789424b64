import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import {
  ArtifactRegistry, decodeTensorMsg, decodeTensorMsgToHost, encodeTensorMsg, encodeTensorMsgAsync, fileRef,
  isArtifactRef, isTensorMsg, tensorJsonReplacer, tensorMsgToJSON,
} from '../lib/tensor-msg';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const cloneMessage: (m: unknown) => any = require('@node-red/util').util.cloneMessage;

describe('tensor-msg', () => {
  before(async () => { await tf.ready(); }); // backend chosen by test/helpers/setup

  let baseline = 0;
  beforeEach(() => { baseline = tf.memory().numTensors; });
  afterEach(() => { assert.equal(tf.memory().numTensors, baseline, 'tensor leak'); });

  it('should survive RED.util.cloneMessage: float32 [2,3] (data copied, not shared)', () => {
    const t = tf.tensor2d([[1, 2, 3], [4, 5, 6.5]]);
    const msg = { payload: encodeTensorMsg(t), topic: 'x' };
    t.dispose();
    const c = cloneMessage(msg);
    assert.ok(isTensorMsg(c.payload));
    assert.ok(c.payload.data instanceof Float32Array);
    assert.notEqual(c.payload.data.buffer, msg.payload.data.buffer);
    const d = decodeTensorMsg(c.payload);
    assert.deepEqual(d.shape, [2, 3]);
    assert.deepEqual([...d.dataSync()], [1, 2, 3, 4, 5, 6.5]);
    d.dispose();
  });

  it('should not alias the tensor backing store (cpu dataSync returns it)', () => {
    const t = tf.tensor1d([1, 2]);
    const m = encodeTensorMsg(t);
    (m.data as Float32Array)[0] = 99;
    assert.equal(t.dataSync()[0], 1);
    t.dispose();
  });

  for (const [dtype, values] of [
    ['float32', [0.1, -2.5, NaN, Infinity, 3e-38]],
    ['int32', [-2147483648, 0, 7, 2147483647, -1]],
    ['bool', [1, 0, 1, 1, 0]],
    ['uint8', [0, 255, 7, 128, 1]],
  ] as const) {
    it(`should round-trip dtype=${dtype} shape=[5] through JSON (base64) and through naive JSON`, () => {
      const data = dtype === 'float32' ? Float32Array.from(values) : dtype === 'int32' ? Int32Array.from(values) : Uint8Array.from(values);
      const m = encodeTensorMsg({ dtype, shape: [5], data });
      const viaReplacer = JSON.parse(JSON.stringify({ payload: m }, tensorJsonReplacer)).payload;
      assert.equal(viaReplacer.encoding, 'base64');
      assert.equal(typeof viaReplacer.data, 'string');
      const h = decodeTensorMsgToHost(viaReplacer);
      assert.equal(h.dtype, dtype);
      assert.deepEqual([...h.data].map(String), [...data].map(String));
      // A JSON.stringify without the replacer gives {"0":..}: still accepted (NaN/Inf become null → NaN).
      const naive = JSON.parse(JSON.stringify(m));
      const h2 = decodeTensorMsgToHost(naive);
      const want = [...data].map((v) => (Number.isFinite(v) ? v : NaN));
      assert.deepEqual([...h2.data].map(String), want.map(String));
      const t = decodeTensorMsg(viaReplacer);
      assert.equal(t.dtype, dtype === 'uint8' ? 'int32' : dtype);
      t.dispose();
    });
  }

  it('should encode a tf.Tensor asynchronously and to JSON, int32 [2,2]', async () => {
    const t = tf.tensor2d([[1, 2], [3, 4]], [2, 2], 'int32');
    const m = await encodeTensorMsgAsync(t);
    const j = tensorMsgToJSON(t);
    t.dispose();
    assert.deepEqual([...m.data], [1, 2, 3, 4]);
    assert.deepEqual([...decodeTensorMsgToHost(j).data], [1, 2, 3, 4]);
  });

  it('should accept a hand-written number array and a 0-d tensor', () => {
    const t = decodeTensorMsg({ __detexTensor: 1, dtype: 'float32', shape: [], data: [3.5] });
    assert.deepEqual(t.shape, []);
    assert.equal(t.dataSync()[0], 3.5);
    t.dispose();
  });

  it('should never put a shared Node Buffer in a msg (uint8 from Buffer is copied)', () => {
    const buf = Buffer.from([1, 2, 3]);
    const h = decodeTensorMsgToHost({ __detexTensor: 1, dtype: 'uint8', shape: [3], data: buf });
    assert.ok(!Buffer.isBuffer(h.data));
    const fromJson = decodeTensorMsgToHost(JSON.parse(JSON.stringify({ __detexTensor: 1, dtype: 'uint8', shape: [3], data: buf })));
    assert.deepEqual([...fromJson.data], [1, 2, 3]);
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['null', null, /got null/],
    ['a live tensor marker missing', { dtype: 'float32', shape: [1], data: [1] }, /__detexTensor/],
    ['dtype complex64', { __detexTensor: 1, dtype: 'complex64', shape: [1], data: [1] }, /unsupported dtype "complex64"/],
    ['negative dim', { __detexTensor: 1, dtype: 'float32', shape: [2, -1], data: [1] }, /non-negative integers/],
    ['shape not an array', { __detexTensor: 1, dtype: 'float32', shape: 3, data: [1] }, /shape must be an array/],
    ['length mismatch', { __detexTensor: 1, dtype: 'float32', shape: [2, 2], data: new Float32Array(3) }, /\[2,2\] needs 4 elements, data has 3/],
    ['typed array type mismatch', { __detexTensor: 1, dtype: 'int32', shape: [2], data: new Float32Array(2) }, /Float32Array but dtype int32 needs a Int32Array/],
    ['bad base64', { __detexTensor: 1, dtype: 'float32', shape: [1], encoding: 'base64', data: '!!!' }, /not valid base64/],
    ['base64 odd bytes', { __detexTensor: 1, dtype: 'float32', shape: [1], encoding: 'base64', data: 'AAA=' }, /not a multiple of 4/],
    ['unknown encoding', { __detexTensor: 1, dtype: 'float32', shape: [1], encoding: 'hex', data: '00' }, /unsupported encoding "hex"/],
    ['uint8 out of range', { __detexTensor: 1, dtype: 'uint8', shape: [1], data: [256] }, /data\[0\] = 256 is not a uint8/],
    ['int32 fraction', { __detexTensor: 1, dtype: 'int32', shape: [1], data: [1.5] }, /not an int32/],
    ['string element', { __detexTensor: 1, dtype: 'float32', shape: [1], data: ['a'] }, /data\[0\] is "a"/],
  ];
  for (const [name, input, re] of bad) {
    it(`should reject ${name} with a message naming it`, () => {
      assert.throws(() => decodeTensorMsg(input), (e: Error) => re.test(e.message) || assert.fail(e.message));
    });
  }

  it('should reject a live tf.Tensor and a disposed one', () => {
    const t = tf.scalar(1);
    assert.throws(() => decodeTensorMsg(t), /live tf.Tensor/);
    t.dispose();
    assert.throws(() => encodeTensorMsg(t), /disposed/);
  });

  it('should leave no tensors behind after 50 encode/clone/decode cycles', () => {
    for (let i = 0; i < 50; i++) {
      const t = tf.randomNormal([4, 8]);
      const m = cloneMessage({ payload: encodeTensorMsg(t) });
      const d = decodeTensorMsg(m.payload);
      t.dispose();
      d.dispose();
    }
  });
});

describe('tensor-msg ArtifactRegistry', () => {
  it('should hand out refs that survive cloneMessage and JSON and resolve to the same object', () => {
    const reg = new ArtifactRegistry();
    const model = { name: 'm' };
    const ref = reg.put('model', model);
    assert.ok(isArtifactRef(ref));
    assert.equal(reg.get(cloneMessage({ r: ref }).r), model);
    assert.equal(reg.get(JSON.parse(JSON.stringify(ref)), 'model'), model);
    assert.throws(() => reg.get(ref, 'concept'), /is a 'model', expected 'concept'/);
  });

  it('should dispose deterministically on release and say so on a later get', () => {
    const reg = new ArtifactRegistry();
    const base = tf.memory().numTensors;
    const v = tf.zeros([3]);
    const ref = reg.put('concept', v);
    assert.equal(tf.memory().numTensors, base + 1);
    assert.equal(reg.release(ref), true);
    assert.equal(tf.memory().numTensors, base);
    assert.equal(reg.release(ref), false);
    assert.throws(() => reg.get(ref), /was released/);
  });

  it('should evict the least recently used when bounded (maxEntries=2), calling its disposer', () => {
    const reg = new ArtifactRegistry({ maxEntries: 2 });
    const disposed: string[] = [];
    const a = reg.put('x', 'A', () => disposed.push('A'));
    const b = reg.put('x', 'B', () => disposed.push('B'));
    reg.get(a); // a becomes most recent
    reg.put('x', 'C', () => disposed.push('C'));
    assert.deepEqual(disposed, ['B']);
    assert.equal(reg.size, 2);
    assert.throws(() => reg.get(b), /evicted \(the registry holds at most 2 artifacts\)/);
    reg.clear();
    assert.deepEqual(disposed.sort(), ['A', 'B', 'C']);
    assert.equal(reg.size, 0);
  });

  it('should reject bad refs and options, and make file refs', () => {
    const reg = new ArtifactRegistry();
    assert.throws(() => reg.get({ foo: 1 }), /expected \{__detexRef, id\}/);
    assert.throws(() => reg.get({ __detexRef: 'model', id: 'nope' }), /nope is unknown here/);
    assert.throws(() => new ArtifactRegistry({ maxEntries: 0 }), /maxEntries/);
    const r = fileRef('concept', '/tmp/c.safetensors');
    assert.ok(isArtifactRef(r));
    assert.deepEqual(cloneMessage(r), r);
  });
});
