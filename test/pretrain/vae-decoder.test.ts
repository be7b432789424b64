import * as assert from 'assert';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { defaultModelDir } from '../../lib/models/default-model';
import { AutoencoderKL } from '../../lib/models/vae/autoencoder-kl';
import { edgeLoss, reconstructionLoss } from '../../lib/pretrain/vae-loss';
import { vaeRoundTripScores } from '../../lib/pretrain/vae-oracle';
import { evalScenes } from '../../lib/pretrain/world-data';
import { expectNoLeak } from '../helpers/leak';

describe('pretrain/vae decoder fine-tune pieces', () => {
  it('edge loss measures the difference of neighbour steps, not of values', () => {
    const [a, b, c] = tf.tidy(() => {
      const x = tf.tensor4d([0, 1, 0, 1], [1, 1, 4, 1]);
      const shifted = tf.add(x, 0.5) as tf.Tensor4D;
      const flat = tf.zeros([1, 1, 4, 1]) as tf.Tensor4D;
      // a constant offset has the same edges; a flat image loses every step of |1| (3 steps, mean 1)
      return [edgeLoss(x, shifted).arraySync(), edgeLoss(x, flat).arraySync(), reconstructionLoss(x, x).loss.arraySync()];
    });
    assert.ok(Math.abs(a) < 1e-7, `offset ${a}`);
    assert.ok(Math.abs(b - 1) < 1e-6, `flat ${b}`);
    assert.strictEqual(c, 0);
  });

  it('reads background and body colour off detex-mini VAE round trips, without leaking tensors', async () => {
    const vae = AutoencoderKL.load(path.join(defaultModelDir(), 'vae'));
    const set = evalScenes(12, 5, { size: 64, split: 'train' });
    let scores = { background: 0, colour: 0, n: 0 };
    await expectNoLeak(() => {
      scores = vaeRoundTripScores(vae, set, 5);
    });
    vae.dispose();
    assert.strictEqual(scores.n, 12);
    // chance is 1/8 backgrounds and 1/10 colours; the shipped VAE keeps well above it
    assert.ok(scores.background >= 0.3, `background ${scores.background}`);
    assert.ok(scores.colour >= 0.25, `colour ${scores.colour}`);
  });
});
