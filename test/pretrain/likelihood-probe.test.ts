import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { NoisePredictor, probeAttributeLikelihood } from '../../lib/pretrain/likelihood-probe';
import { evalScenes } from '../../lib/pretrain/world-data';
import { DDIMScheduler } from '../../lib/schedulers/ddim';
import { worldVocabulary } from '../../lib/world';
import { expectNoLeak } from '../helpers/leak';

describe('pretrain/likelihood-probe', () => {
  const scheduler = DDIMScheduler.fromConfig({ num_train_timesteps: 1000, beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear' });
  const scenes = evalScenes(6, 31, { split: 'train' }).scenes;
  const classes = worldVocabulary().classes;
  // Stand-in latents: each class its own constant 2×2×1 latent, so "knowing the class" means knowing x0.
  const classLatent = (cls: string) => classes.indexOf(cls as never) + 1;
  const latents = () => tf.tensor4d(scenes.flatMap((s) => Array(4).fill(classLatent(s.spec.subject.cls))), [scenes.length, 2, 2, 1]);
  const alphaBar = (t: number) => scheduler.addNoise(tf.ones([1]), tf.zeros([1]), [t]).dataSync()[0] ** 2;

  // ε̂ = (x_t − √ᾱ·x̂0)/√(1 − ᾱ), with x̂0 read off the class word of the caption (0 when `blind`).
  const predictor = (blind: boolean): NoisePredictor => (noisy, timesteps, captions) =>
    tf.tidy(() => {
      const x0 = captions.map((c) => (blind ? 0 : classLatent(classes.find((k) => c.includes(` ${k} with`))!)));
      const a = timesteps.map(alphaBar);
      const sa = tf.tensor4d(a.map(Math.sqrt), [a.length, 1, 1, 1]);
      const sb = tf.tensor4d(a.map((v) => Math.sqrt(1 - v)), [a.length, 1, 1, 1]);
      return tf.div(tf.sub(noisy, tf.mul(sa, tf.tensor4d(x0, [x0.length, 1, 1, 1]))), sb) as tf.Tensor4D;
    });

  it('should name the true class when the prediction depends on the class word, with a positive error gap', async () => {
    await expectNoLeak(() => {
      const z = latents();
      const r = probeAttributeLikelihood(predictor(false), scheduler, z, scenes, { attributes: ['class'], timesteps: [200, 600] });
      z.dispose();
      assert.strictEqual(r.class.accuracy, 1);
      assert.ok(Math.abs(r.class.chance - 1 / classes.length) < 1e-12);
      for (const p of r.class.perTimestep) {
        assert.strictEqual(p.accuracy, 1);
        assert.ok(p.relativeGap > 1, `gap ${p.relativeGap} at t ${p.timestep}`);
      }
    });
  });

  it('should report zero gap for a predictor that ignores the words, and colour knowledge it lacks as such', async () => {
    await expectNoLeak(() => {
      const z = latents();
      const r = probeAttributeLikelihood(predictor(true), scheduler, z, scenes, { attributes: ['class'], timesteps: [500] });
      // colour words do not change this predictor's output: every candidate ties, the gap is 0
      const c = probeAttributeLikelihood(predictor(false), scheduler, z, scenes, { attributes: ['colour'], timesteps: [500] });
      z.dispose();
      assert.strictEqual(r.class.perTimestep[0].relativeGap, 0);
      assert.strictEqual(c.colour.perTimestep[0].relativeGap, 0);
      // ties resolve to the first value, so only scenes whose truth is the first value count as right
      const firstColour = worldVocabulary().colours[0];
      assert.strictEqual(c.colour.accuracy, scenes.filter((s) => s.spec.subject.colour === firstColour).length / scenes.length);
    });
  });

  it('should refuse a latent count that does not match the scenes and timesteps outside the schedule', () => {
    const z = tf.zeros([2, 2, 2, 1]) as tf.Tensor4D;
    assert.throws(() => probeAttributeLikelihood(predictor(true), scheduler, z, scenes), /2 latents for 6 scenes/);
    const z6 = latents();
    assert.throws(() => probeAttributeLikelihood(predictor(true), scheduler, z6, scenes, { timesteps: [1000] }), /timestep 1000 outside \[0, 1000\)/);
    z.dispose();
    z6.dispose();
  });
});
