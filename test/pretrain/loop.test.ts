import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { Linear } from '../../lib/nn/linear';
import { ParamStore } from '../../lib/nn/params';
import { seededInitializer } from '../../lib/nn/init';
import { runLoop, LossFn, CHECKPOINT_FILE, LOG_FILE } from '../../lib/pretrain/loop';
import { learningRate } from '../../lib/pretrain/schedule';
import { clipByGlobalNorm } from '../../lib/pretrain/grad-clip';
import { WeightEma } from '../../lib/pretrain/ema';
import { SafetensorsReader } from '../../lib/io/safetensors';
import { expectNoLeak } from '../helpers/leak';
import { tempDirs } from '../helpers/temp-dir';

/** A 2-layer regression toward a fixed random linear map, with fresh random inputs per step. */
function toy(seed = 1) {
  const store = ParamStore.initializing(seededInitializer(seed));
  const l1 = new Linear(store, 'l1', 4, 8);
  const l2 = new Linear(store, 'l2', 8, 2);
  const vars = store.makeTrainable(() => true);
  const target = tf.tensor2d([[1, -2], [0.5, 0], [-1, 1], [2, 0.3]]);
  const loss: LossFn = ({ rng }) => {
    const x = tf.tensor2d(rng.normal([16, 4]), [16, 4]);
    const y = tf.matMul(x, target);
    const l = tf.mean(tf.square(tf.sub(l2.apply(tf.relu(l1.apply(x))), y))) as tf.Scalar;
    return { loss: l, logs: { half: tf.mul(l, 0.5) as tf.Scalar } };
  };
  return { store, vars, loss, dispose: () => { store.dispose(); target.dispose(); } };
}

const schedule = { lr: 0.02, warmupSteps: 3, totalSteps: 60 };

describe('pretrain/loop', () => {
  const dirs = tempDirs();
  const tmp = (): string => dirs('detex-pretrain-');

  it('should decrease the loss on a toy problem without leaking tensors', async () => {
    const dir = tmp();
    await expectNoLeak(async () => {
      const t = toy();
      const r = await runLoop({ dir, vars: t.vars, loss: t.loss, seed: 7, schedule, clipNorm: 5, checkpointEvery: 25 });
      t.dispose();
      assert.strictEqual(r.step, 60);
      assert.strictEqual(r.stoppedBy, 'done');
    });
    const log = fs.readFileSync(path.join(dir, LOG_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.strictEqual(log.length, 60);
    const first = log.slice(0, 5).reduce((a, l) => a + l.loss, 0) / 5;
    const last = log.slice(-5).reduce((a, l) => a + l.loss, 0) / 5;
    assert.ok(last < first * 0.2, `loss ${first} → ${last}`);
    assert.ok(Math.abs(log[0].half - log[0].loss / 2) < 1e-6);
  });

  it('should scale the lr per variable: a scale of 0 leaves that variable as it was', async () => {
    const t = toy();
    const before = t.vars.get('l1.weight')!.arraySync() as number[][];
    const l2Before = t.vars.get('l2.weight')!.arraySync() as number[][];
    await runLoop({ dir: tmp(), vars: t.vars, loss: t.loss, seed: 7, schedule, maxSteps: 5, lrScale: (n) => (n.startsWith('l1.') ? 0 : 1) });
    assert.deepStrictEqual(t.vars.get('l1.weight')!.arraySync(), before);
    assert.notDeepStrictEqual(t.vars.get('l2.weight')!.arraySync(), l2Before);
    t.dispose();
  });

  it('should resume after a stop bit-exactly (weights, moments, log)', async () => {
    const short = { ...schedule, totalSteps: 12 };
    const a = tmp();
    const ta = toy();
    await runLoop({ dir: a, vars: ta.vars, loss: ta.loss, seed: 3, schedule: short, accumulate: 2, clipNorm: 0.5, checkpointEvery: 100 });
    const b = tmp();
    const tb1 = toy();
    const r1 = await runLoop({ dir: b, vars: tb1.vars, loss: tb1.loss, seed: 3, schedule: short, accumulate: 2, clipNorm: 0.5, maxSteps: 5 });
    assert.deepStrictEqual([r1.step, r1.stoppedBy], [5, 'maxSteps']);
    tb1.dispose();
    // A stale log line past the checkpoint (killed after logging) must be dropped on resume.
    fs.appendFileSync(path.join(b, LOG_FILE), JSON.stringify({ step: 6, loss: 123 }) + '\n');
    const tb2 = toy(99); // different initial weights: the checkpoint must override them
    const r2 = await runLoop({ dir: b, vars: tb2.vars, loss: tb2.loss, seed: 3, schedule: short, accumulate: 2, clipNorm: 0.5 });
    assert.deepStrictEqual([r2.step, r2.ran], [12, 7]);
    for (const name of ta.vars.keys()) {
      const x = ta.store.toHost(name).data;
      const y = tb2.store.toHost(name).data;
      assert.deepStrictEqual(Array.from(y), Array.from(x), `${name} differs after resume`);
    }
    const bytes = (d: string) => fs.readFileSync(path.join(d, CHECKPOINT_FILE));
    assert.ok(bytes(a).equals(bytes(b)), 'checkpoint files differ');
    const losses = (d: string) => fs.readFileSync(path.join(d, LOG_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l).loss);
    assert.deepStrictEqual(losses(b), losses(a));
    ta.dispose();
    tb2.dispose();
  });

  it('should stop cleanly with a checkpoint on SIGTERM (the loop yields to the event loop)', async () => {
    const dir = tmp();
    const t = toy();
    let sent = false;
    const loss: LossFn = (ctx) => {
      if (ctx.step === 3 && !sent) {
        sent = true;
        process.kill(process.pid, 'SIGTERM'); // delivered asynchronously, like a real kill
      }
      return t.loss(ctx);
    };
    const r = await runLoop({ dir, vars: t.vars, loss, seed: 1, schedule, handleSignals: true });
    t.dispose();
    assert.strictEqual(r.stoppedBy, 'signal');
    assert.ok(r.step >= 3 && r.step < 10, `stopped at ${r.step}`);
    assert.ok(fs.existsSync(path.join(dir, CHECKPOINT_FILE)));
  });

  it('should refuse a checkpoint of a different model', async () => {
    const dir = tmp();
    const t = toy();
    await runLoop({ dir, vars: t.vars, loss: t.loss, seed: 1, schedule: { ...schedule, totalSteps: 2 } });
    t.dispose();
    const store = ParamStore.initializing(seededInitializer(1));
    new Linear(store, 'l1', 4, 9);
    const vars = store.makeTrainable(() => true);
    await assert.rejects(runLoop({ dir, vars, loss: t.loss, seed: 1, schedule }), /different trained variables/);
    store.dispose();
  });

  it('should schedule warmup then cosine, and clip by global norm', () => {
    const s = { lr: 1, warmupSteps: 10, totalSteps: 110, minRatio: 0.1 };
    assert.strictEqual(learningRate(s, 5), 0.5);
    assert.strictEqual(learningRate(s, 10), 1);
    assert.ok(Math.abs(learningRate(s, 60) - 0.55) < 1e-12);
    assert.ok(Math.abs(learningRate(s, 110) - 0.1) < 1e-12);
    const g = new Map([['a', tf.tensor1d([3, 0])], ['b', tf.tensor1d([0, 4])]]);
    const { norm, grads } = clipByGlobalNorm(g, 1);
    assert.strictEqual(norm, 5);
    const a = grads.get('a')!.dataSync();
    assert.ok(Math.abs(a[0] - 0.6) < 1e-6);
    tf.dispose([...grads.values()]);
  });

  it('should keep a weight average with a warming-up decay', () => {
    const v = tf.variable(tf.tensor1d([0]));
    const ema = new WeightEma(new Map([['w', v]]), 0.9);
    assert.ok(Math.abs(ema.currentDecay() - 0.1) < 1e-12, 'first decay (1+0)/(10+0)');
    v.assign(tf.tensor1d([10]));
    ema.update(); // 0.1·0 + 0.9·10
    assert.ok(Math.abs(ema.weights().get('w')!.dataSync()[0] - 9) < 1e-5);
    for (let i = 0; i < 200; i++) ema.update();
    assert.strictEqual(ema.currentDecay(), 0.9, 'capped at the configured decay');
    ema.dispose();
    v.dispose();
    assert.throws(() => new WeightEma(new Map(), 1), /decay must be in \(0, 1\)/);
  });

  it('should save the average in the checkpoint, resume it bit-exactly, and lend it to onCheckpoint', async () => {
    const short = { ...schedule, totalSteps: 12 };
    const a = tmp();
    const b = tmp();
    await expectNoLeak(async () => {
      const ta = toy();
      let lent: number[] = [];
      let after: number[] = [];
      await runLoop({
        dir: a, vars: ta.vars, loss: ta.loss, seed: 4, schedule: short, emaDecay: 0.8, checkpointEvery: 100,
        onCheckpoint: async (_step, ctx) => {
          assert.ok(ctx.hasAverage);
          lent = await ctx.withAveragedWeights(() => Array.from(ta.store.tensor('l2.weight').dataSync()));
          after = Array.from(ta.store.tensor('l2.weight').dataSync());
        },
      });
      const r = SafetensorsReader.open(path.join(a, CHECKPOINT_FILE));
      const averaged = Array.from(r.read('e/l2.weight').data as Float32Array);
      const trained = Array.from(r.read('p/l2.weight').data as Float32Array);
      assert.strictEqual(r.metadata.emaUpdates, '12');
      r.close();
      assert.deepStrictEqual(lent, averaged, 'onCheckpoint saw the saved average');
      assert.notDeepStrictEqual(averaged, trained, 'the average differs from the last weights');
      assert.deepStrictEqual(after, trained, 'the trained weights are back after the loan');
      ta.dispose();
      const t1 = toy();
      await runLoop({ dir: b, vars: t1.vars, loss: t1.loss, seed: 4, schedule: short, emaDecay: 0.8, maxSteps: 5 });
      t1.dispose();
      const t2 = toy();
      await runLoop({ dir: b, vars: t2.vars, loss: t2.loss, seed: 4, schedule: short, emaDecay: 0.8 });
      t2.dispose();
    });
    const bytes = (d: string) => fs.readFileSync(path.join(d, CHECKPOINT_FILE));
    assert.ok(bytes(a).equals(bytes(b)), 'checkpoints (with the average) differ after a resume');
  });
});
