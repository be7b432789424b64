import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { DDIMScheduler } from '../../lib/schedulers/ddim';
import { makeTrainingNoise } from '../../lib/schedulers/training-noise';
import { Rng } from '../../lib/random';
import { expectNoLeak } from '../helpers/leak';

describe('schedulers/training-noise: makeTrainingNoise', () => {
  it('should sample t and ε from the seed, build x_t = √ᾱ x0 + √(1−ᾱ) ε and the ε target, x0=[3,4,4,4]', async () => {
    const s = new DDIMScheduler({ beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012 });
    const x0 = tf.randomUniform([3, 4, 4, 4], -1, 1, 'float32', 3) as tf.Tensor4D;
    await expectNoLeak(() => {
      const a = makeTrainingNoise(s, x0, new Rng(1));
      const b = makeTrainingNoise(s, x0, new Rng(1));
      assert.deepStrictEqual(a.timesteps, b.timesteps);
      assert.ok(a.timesteps.every((t) => Number.isInteger(t) && t >= 0 && t < 1000));
      assert.deepStrictEqual(a.noise.dataSync(), b.noise.dataSync());
      assert.deepStrictEqual(a.target.dataSync(), a.noise.dataSync());
      tf.tidy(() => {
        const manual = s.addNoise(x0, a.noise, a.timesteps);
        assert.ok(tf.max(tf.abs(tf.sub(manual, a.noisyLatents))).dataSync()[0] === 0);
      });
      for (const r of [a, b]) [r.noise, r.noisyLatents, r.target].forEach((t) => t.dispose());
    });
    x0.dispose();
  });

  it('should give the v target for v_prediction and x0 for sample, and honour a timestep range', () => {
    tf.tidy(() => {
      const x0 = tf.ones([2, 2, 2, 4]);
      const v = new DDIMScheduler({ prediction_type: 'v_prediction' });
      const r = makeTrainingNoise(v, x0, new Rng(2), { minTimestep: 100, maxTimestep: 200 });
      assert.ok(r.timesteps.every((t) => t >= 100 && t < 200));
      const want = v.getVelocity(x0, r.noise, r.timesteps);
      assert.deepStrictEqual(r.target.dataSync(), want.dataSync());
      const smp = makeTrainingNoise(new DDIMScheduler({ prediction_type: 'sample' }), x0, new Rng(2));
      assert.deepStrictEqual(smp.target.dataSync(), x0.dataSync());
      assert.throws(() => makeTrainingNoise(v, x0, new Rng(2), { maxTimestep: 2000 }), /timestep range/);
    });
  });
});
