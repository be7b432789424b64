import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { probeDenoising, probeSceneDenoising, formatDenoising } from '../../lib/pretrain/denoise-probe';
import { NoisePredictor } from '../../lib/pretrain/likelihood-probe';
import { evalScenes } from '../../lib/pretrain/world-data';
import { DDIMScheduler } from '../../lib/schedulers/ddim';
import { expectNoLeak } from '../helpers/leak';

describe('pretrain/denoise-probe (how well the UNet cleans a noised real latent)', () => {
  const scheduler = DDIMScheduler.fromConfig({ num_train_timesteps: 1000, beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear' });
  const captions = ['a', 'b', 'c', 'd'];
  const clean = () => tf.randomNormal([4, 8, 8, 4], 0, 2, 'float32', 11) as tf.Tensor4D;

  /** ε̂ from a guess of x0: (x_t − √ᾱ·x̂0)/√(1−ᾱ); the guess is the clean latent blended with zero by `knows`. */
  const predictor = (x0: tf.Tensor4D, knows: number): NoisePredictor => (noisy, ts) =>
    tf.tidy(() => {
      const ab = scheduler.alphasCumprod[ts[0]];
      return tf.div(tf.sub(noisy, tf.mul(tf.mul(x0, knows), Math.sqrt(ab))), Math.sqrt(1 - ab)) as tf.Tensor4D;
    });

  it('scores an oracle denoiser 0, one that predicts no noise at the input\'s own noise, and a half-knowing one in between', async () => {
    await expectNoLeak(() => {
      const z = clean();
      const oracle = probeDenoising(predictor(z, 1), scheduler, z, captions, { timesteps: [100, 400] });
      for (const p of oracle) assert.ok(p.x0Error < 1e-3, `oracle at ${p.timestep}: ${p.x0Error}`);
      const lazy: NoisePredictor = (noisy) => tf.zerosLike(noisy);
      const none = probeDenoising(lazy, scheduler, z, captions, { timesteps: [100, 400] });
      for (const p of none) assert.ok(Math.abs(p.x0Error / p.inputNoise - 1) < 0.08, `ε̂ = 0 at ${p.timestep}: ${p.x0Error} vs ${p.inputNoise}`);
      assert.ok(none[1].inputNoise > none[0].inputNoise);
      // x̂0 = 0.5·x0: the error is half the latent's rms over its std, whatever the timestep
      const half = probeDenoising(predictor(z, 0.5), scheduler, z, captions, { timesteps: [250] });
      assert.ok(Math.abs(half[0].x0Error - 0.5) < 0.05, `half-knowing: ${half[0].x0Error}`);
      z.dispose();
      assert.match(formatDenoising(oracle), /^t 100 0\.000 \(input noise \d\.\d{3}\), t 400 /);
    });
  });

  it('refuses captions that do not match the latents, a timestep outside the schedule, and constant latents', async () => {
    await expectNoLeak(() => {
      const z = clean();
      const lazy: NoisePredictor = (noisy) => tf.zerosLike(noisy);
      assert.throws(() => probeDenoising(lazy, scheduler, z, ['a'], {}), /4 latents but 1 captions/);
      assert.throws(() => probeDenoising(lazy, scheduler, z, captions, { timesteps: [1000] }), /timestep 1000 is outside the scheduler's 1000 steps/);
      z.dispose();
      const flat = tf.ones([4, 8, 8, 4]) as tf.Tensor4D;
      assert.throws(() => probeDenoising(lazy, scheduler, flat, captions), /constant \(std 0\)/);
      flat.dispose();
    });
  });

  it('runs on rendered scenes through an encoder, passing each scene\'s caption', async () => {
    const scenes = evalScenes(3, 4, { split: 'train', size: 32 }).scenes;
    const seen: string[] = [];
    await expectNoLeak(() => {
      const r = probeSceneDenoising({
        encode: (images) => tf.avgPool(images, 4, 4, 'valid') as tf.Tensor4D,
        predict: (noisy, ts, caps) => (seen.push(...caps), tf.zerosLike(noisy)),
        scheduler,
      }, scenes, { timesteps: [50] });
      assert.strictEqual(r.length, 1);
    });
    assert.deepStrictEqual(seen, scenes.map((s) => s.caption));
  });
});
