import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../lib/random';
import { DDIMScheduler } from '../../lib/schedulers/ddim';
import { dropCaptionGroups, groupedTrainingNoise } from '../../lib/pretrain/pattern-sets';
import { SCHEDULER_CONFIG } from '../../scripts/pretrain/unet-config';
import { expectNoLeak } from '../helpers/leak';

describe('pretrain/pattern-sets (a set shares its timestep, noise and caption dropout)', () => {
  const scheduler = DDIMScheduler.fromConfig(SCHEDULER_CONFIG);

  it('draws one timestep and one noise per group, and noises each item with them', async () => {
    await expectNoLeak(() => {
      const latents = tf.randomNormal([8, 3, 3, 2], 0, 1, 'float32', 4) as tf.Tensor4D;
      const n = groupedTrainingNoise(scheduler, latents, new Rng(9), 4);
      assert.deepEqual(n.timesteps.slice(0, 4), Array(4).fill(n.timesteps[0]));
      assert.deepEqual(n.timesteps.slice(4), Array(4).fill(n.timesteps[4]));
      const eps = n.noise.arraySync() as number[][][][];
      assert.deepEqual(eps[3], eps[0]);
      assert.deepEqual(eps[7], eps[4]);
      assert.notDeepEqual(eps[4], eps[0]);
      // x_t = √ᾱ x0 + √(1−ᾱ) ε per item, with the group's t
      const expected = scheduler.addNoise(latents, n.noise, n.timesteps);
      const gap = tf.tidy(() => tf.max(tf.abs(tf.sub(expected, n.noisyLatents))));
      assert.ok(gap.dataSync()[0] < 1e-6);
      gap.dispose();
      assert.deepEqual(n.target.arraySync(), eps, 'ε-prediction');
      const again = groupedTrainingNoise(scheduler, latents, new Rng(9), 4);
      assert.deepEqual(again.timesteps, n.timesteps, 'seeded');
      tf.dispose([latents, n.noise, n.noisyLatents, n.target, expected, again.noise, again.noisyLatents, again.target]);
    });
  });

  it('drops a whole group\'s captions or none of them', () => {
    const captions = Array.from({ length: 40 }, (_, i) => `caption ${i}`);
    const out = dropCaptionGroups(captions, new Rng(1), 0.5, 4);
    let dropped = 0;
    for (let g = 0; g < 10; g++) {
      const group = out.slice(4 * g, 4 * g + 4);
      const empty = group.filter((c) => c === '').length;
      assert.ok(empty === 0 || empty === 4, `group ${g} is split: ${JSON.stringify(group)}`);
      if (empty) dropped++;
      else assert.deepEqual(group, captions.slice(4 * g, 4 * g + 4));
    }
    assert.ok(dropped > 0 && dropped < 10, `p = 0.5 over 10 groups dropped ${dropped}`);
    assert.deepEqual(dropCaptionGroups(captions, new Rng(1), 0, 4), captions);
    assert.throws(() => dropCaptionGroups(captions.slice(0, 6), new Rng(1), 0.1, 4), /batch of 6 does not split into groups of 4/);
    const latents = tf.zeros([6, 2, 2, 1]) as tf.Tensor4D;
    assert.throws(() => groupedTrainingNoise(scheduler, latents, new Rng(1), 4), /batch of 6 does not split into groups of 4/);
    latents.dispose();
  });
});
