import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { DDIMScheduler } from '../../lib/schedulers/ddim';
import { inferenceTimesteps, roundHalfEven } from '../../lib/schedulers/timestep-spacing';
import { runner } from '../../lib/parity/runners/scheduler';
import { runParity, formatResult } from '../../lib/parity/engine';
import { expectNoLeak } from '../helpers/leak';
import { fixture } from '../helpers/fixtures';

const SD14 = {
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  clip_sample: false,
  set_alpha_to_one: false,
  steps_offset: 1,
};

describe('schedulers/ddim: DDIMScheduler', () => {
  describe('golden cases (sd-tiny, component "scheduler")', () => {
    it('should pass ddim_schedule, ddim_step_eta{0,1}_10, ddim_step_eta0_50 and ddim_add_noise within tolerance, leak-free', async function () {
      const dir = fixture('sd-tiny');
      if (!dir) return this.skip();
      const report = await runParity(dir, [runner], undefined, (_f, name) => name.startsWith('ddim_'));
      const lines = report.results.flatMap(formatResult);
      assert.strictEqual(report.results.length, 5, lines.join('\n'));
      assert.strictEqual(report.failed, 0, lines.join('\n'));
    });
  });

  describe('timesteps (numpy reference values)', () => {
    it('should space "leading" with steps_offset like SD v1 (10 steps → 901…1)', () => {
      assert.deepStrictEqual(inferenceTimesteps('leading', 1000, 10, 1), [901, 801, 701, 601, 501, 401, 301, 201, 101, 1]);
    });
    it('should space "trailing" as np.round(np.arange(T, 0, -T/n)) − 1', () => {
      assert.deepStrictEqual(inferenceTimesteps('trailing', 1000, 3, 0), [999, 666, 332]);
      assert.deepStrictEqual(inferenceTimesteps('trailing', 1000, 7, 0), [999, 856, 713, 570, 428, 285, 142]);
      const t50 = inferenceTimesteps('trailing', 1000, 50, 0);
      assert.strictEqual(t50.length, 50);
      assert.deepStrictEqual(t50.slice(-3), [59, 39, 19]);
    });
    it('should space "linspace" as np.linspace(0, T−1, n).round() reversed', () => {
      assert.deepStrictEqual(inferenceTimesteps('linspace', 1000, 3, 0), [999, 500, 0]);
      assert.deepStrictEqual(inferenceTimesteps('linspace', 1000, 7, 0), [999, 832, 666, 500, 333, 166, 0]);
      assert.deepStrictEqual(inferenceTimesteps('linspace', 1000, 50, 0).slice(0, 5), [999, 979, 958, 938, 917]);
    });
    it('should round half to even like numpy', () => {
      assert.deepStrictEqual([0.5, 1.5, 2.5, -0.5, -1.5, 2.4].map(roundHalfEven), [0, 2, 2, -0, -2, 2]);
    });
    it('should refuse more steps than training timesteps, and step() before setTimesteps', () => {
      const s = new DDIMScheduler(SD14);
      assert.throws(() => s.setTimesteps(1001), /cannot exceed num_train_timesteps 1000/);
      const x = tf.zeros([1, 2, 2, 4]);
      assert.throws(() => s.step(x, 999, x), /setTimesteps/);
      x.dispose();
    });
  });

  describe('config', () => {
    it('should take diffusers defaults for missing keys (linear 1e-4…0.02, set_alpha_to_one, clip_sample)', () => {
      const s = new DDIMScheduler({});
      assert.strictEqual(s.config.beta_schedule, 'linear');
      assert.strictEqual(s.finalAlphaCumprod, 1);
      assert.strictEqual(s.config.clip_sample, true);
      assert.ok(Math.abs(s.betas[0] - 1e-4) < 1e-9 && Math.abs(s.betas[999] - 0.02) < 1e-9);
    });
    it('should warn about unknown keys and reject unsupported values with the allowed ones', () => {
      const warnings: string[] = [];
      new DDIMScheduler({ ...SD14, skip_prk_steps: true }, (m) => warnings.push(m));
      assert.match(warnings.join(), /skip_prk_steps/);
      assert.throws(() => new DDIMScheduler({ prediction_type: 'flow' }), /epsilon, v_prediction, sample/);
      assert.throws(() => new DDIMScheduler({ beta_schedule: 'sigmoid' }), /not implemented/);
      assert.throws(() => new DDIMScheduler({ timestep_spacing: 'karras' }), /not supported/);
    });
    it('should build squaredcos_cap_v2 and rescale to zero terminal SNR (ᾱ_T = 0)', () => {
      const s = new DDIMScheduler({ beta_schedule: 'squaredcos_cap_v2', rescale_betas_zero_snr: true });
      assert.strictEqual(s.alphasCumprod[999], 0);
      assert.ok(s.alphasCumprod[0] > 0.99);
      const cos = new DDIMScheduler({ beta_schedule: 'squaredcos_cap_v2' });
      assert.ok(cos.betas.every((b) => b > 0 && b <= Math.fround(0.999)));
    });
    it('should use trained_betas when given', () => {
      const betas = Array.from({ length: 10 }, (_, i) => 0.01 * (i + 1));
      const s = new DDIMScheduler({ num_train_timesteps: 10, trained_betas: betas });
      assert.ok(Math.abs(s.betas[4] - 0.05) < 1e-8);
      assert.throws(() => new DDIMScheduler({ num_train_timesteps: 9, trained_betas: betas }), /trained_betas has 10 values/);
    });
  });

  describe('step', () => {
    it('should recover x0 exactly from a consistent x_t for epsilon, v_prediction and sample targets x=[2,4,4,3]', async () => {
      await expectNoLeak(() => {
        for (const prediction_type of ['epsilon', 'v_prediction', 'sample']) {
          const s = new DDIMScheduler({ ...SD14, prediction_type });
          s.setTimesteps(10);
          tf.tidy(() => {
            const x0 = tf.randomUniform([2, 4, 4, 3], -1, 1, 'float32', 1);
            const eps = tf.randomNormal([2, 4, 4, 3], 0, 1, 'float32', 2);
            const t = 501;
            const xt = s.addNoise(x0, eps, [t, t]);
            const target = prediction_type === 'epsilon' ? eps : prediction_type === 'sample' ? x0 : s.getVelocity(x0, eps, [t, t]);
            const { predOriginalSample, prevSample } = s.step(target, t, xt);
            assert.ok(tf.max(tf.abs(tf.sub(predOriginalSample, x0))).dataSync()[0] < 1e-5, prediction_type);
            // η = 0: x_{t−1} is the forward process at t−100 with the same ε
            const expected = s.addNoise(x0, eps, [401, 401]);
            assert.ok(tf.max(tf.abs(tf.sub(prevSample, expected))).dataSync()[0] < 1e-5, prediction_type);
          });
        }
      });
    });

    it('should clip x0 to clip_sample_range and apply dynamic thresholding like torch.quantile', () => {
      tf.tidy(() => {
        const clip = new DDIMScheduler({ ...SD14, clip_sample: true, clip_sample_range: 0.5, prediction_type: 'sample' });
        clip.setTimesteps(10);
        const x = tf.tensor4d([-3, -0.2, 0.4, 2], [1, 1, 2, 2]);
        assert.deepStrictEqual(Array.from(clip.step(x, 501, x).predOriginalSample.dataSync()), [-0.5, -0.2, 0.4, 0.5].map(Math.fround));

        const thr = new DDIMScheduler({ ...SD14, thresholding: true, dynamic_thresholding_ratio: 0.9, sample_max_value: 10, prediction_type: 'sample' });
        thr.setTimesteps(10);
        const vals = Array.from({ length: 12 }, (_, i) => (i - 6) * 0.5);
        const y = tf.tensor4d(vals, [1, 2, 2, 3]);
        // |y| sorted: 0,.5,.5,1,1,1.5,1.5,2,2,2.5,2.5,3; quantile(0.9) at 9.9 → 2.5
        const got = Array.from(thr.step(y, 501, y).predOriginalSample.dataSync());
        const want = vals.map((v) => Math.fround(Math.max(-2.5, Math.min(2.5, v)) / 2.5));
        got.forEach((g, i) => assert.ok(Math.abs(g - want[i]) < 1e-6, `${i}: ${g} vs ${want[i]}`));
      });
    });

    it('should add seeded variance noise for eta > 0 reproducibly, and demand a noise source', () => {
      tf.tidy(() => {
        const s = new DDIMScheduler(SD14);
        s.setTimesteps(10);
        const x = tf.ones([1, 4, 4, 4]);
        const a = s.step(x, 501, x, { eta: 1, seed: 9 }).prevSample.dataSync();
        const b = s.step(x, 501, x, { eta: 1, seed: 9 }).prevSample.dataSync();
        const c = s.step(x, 501, x, { eta: 1, seed: 10 }).prevSample.dataSync();
        assert.deepStrictEqual(a, b);
        assert.notDeepStrictEqual(a, c);
        assert.throws(() => s.step(x, 501, x, { eta: 1 }), /needs varianceNoise, rng or seed/);
      });
    });

    it('should return tensors the caller owns (no leaks, prediction_type sample returns a copy)', async () => {
      const s = new DDIMScheduler({ ...SD14, prediction_type: 'sample' });
      s.setTimesteps(5);
      const x = tf.ones([1, 2, 2, 4]);
      await expectNoLeak(() => {
        const o = s.step(x, s.timesteps[0], x);
        assert.notStrictEqual(o.predOriginalSample, x);
        o.prevSample.dispose();
        o.predOriginalSample.dispose();
      });
      x.dispose();
    });
  });
});
