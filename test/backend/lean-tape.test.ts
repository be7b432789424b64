import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../lib/backend';
import { setLeanTapeSaves } from '../../lib/backend/lean-tape';

describe('backend/lean-tape: gradient saves without an Identity dispatch', function () {
  this.timeout(60000);
  let cpu = false;

  before(async function () {
    const info = await initBackend();
    cpu = info.backend === 'cpu';
    if (!cpu) {
      console.log(`      skipped: the lean save is for the cpu backend, this run uses ${info.backend}`);
      this.skip();
    }
    w1 = tf.variable(tf.randomNormal([3, 3, 2, 4], 0, 0.5, 'float32', 1), true, 'lean-w1');
    w2 = tf.variable(tf.randomNormal([4, 5], 0, 0.5, 'float32', 2), true, 'lean-w2');
    x = tf.randomNormal([2, 6, 6, 2], 0, 1, 'float32', 3) as tf.Tensor4D;
  });
  after(() => {
    if (!cpu) return;
    setLeanTapeSaves(process.env.DETEX_LEAN_TAPE !== '0');
    tf.dispose([w1, w2, x]);
  });

  // ops whose gradients keep inputs and outputs: matMul, exp, sigmoid, conv2d, softmax, mul
  let w1: tf.Variable;
  let w2: tf.Variable;
  let x: tf.Tensor4D;
  const loss = () => tf.tidy(() => {
    const h = tf.sigmoid(tf.conv2d(x, w1 as tf.Tensor4D, 1, 'same'));
    const flat = tf.reshape(tf.mean(h, [1, 2]), [2, 4]);
    const p = tf.softmax(tf.matMul(flat, w2));
    return tf.sum(tf.mul(tf.exp(p), p)) as tf.Scalar;
  });
  const run = () => {
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(loss);
    const out = { value: value.dataSync()[0], g1: Array.from(grads['lean-w1'].dataSync()), g2: Array.from(grads['lean-w2'].dataSync()) };
    tf.dispose([value, grads['lean-w1'], grads['lean-w2']]);
    assert.strictEqual(tf.memory().numTensors, before, 'tensors left behind by the gradient pass');
    return out;
  };

  it('should give bitwise the same loss and gradients as tfjs\' clone-based saves, and leave no tensor behind', () => {
    setLeanTapeSaves(false);
    const reference = run();
    assert.strictEqual(setLeanTapeSaves(true), true);
    const lean = run();
    assert.deepStrictEqual(lean, reference);
    // twice more: the saved references are released, so repeated steps stay equal and leak-free
    assert.deepStrictEqual(run(), reference);
  });

  it('should run no Identity kernel to save tensors (tfjs\' own saves run one per saved tensor)', async () => {
    const identities = async () => {
      const info = await tf.profile(() => {
        const { value, grads } = tf.variableGrads(loss);
        tf.dispose([value, ...Object.values(grads)]);
      });
      return info.kernels.filter((k) => k.name === 'Identity').length;
    };
    setLeanTapeSaves(false);
    const stock = await identities();
    setLeanTapeSaves(true);
    const lean = await identities();
    assert.ok(stock >= 10, `stock tfjs ran ${stock} Identity kernels`);
    assert.ok(lean < stock / 4, `lean ran ${lean} Identity kernels, stock ${stock}`);
  });
});
