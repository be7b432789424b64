/**
 * The forward-only nearest ×2 kernel (DetexUpsampleNearest2x, native/src/resample.cc) against the composed
 * upsampling that the VAE and the UNet share (lib/nn/upsample.ts, imported here as each model module exports it),
 * with DETEX_NATIVE_UPSAMPLE=0 as the reference: equal values (it only copies), one kernel call at inference, and
 * the composed path under a gradient tape.
 */
import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { UPSAMPLE_NEAREST_2X } from '../../lib/backend/native-kernels';
import { upsampleNearest2x as unetUpsample } from '../../lib/models/unet/resample';
import { upsampleNearest2x as vaeUpsample } from '../../lib/models/vae/resampling';
import { nativeKernelToggle } from '../helpers/native-toggle';
import { seededTensor } from '../helpers/seeded-tensor';

// eslint-disable-next-line @typescript-eslint/no-require-imports
require('@tensorflow/tfjs'); // registers the gradients of the composed path's ops

const SHAPES: Array<[number, number, number, number]> = [[1, 32, 32, 32], [2, 5, 3, 7], [1, 1, 1, 1]];

async function run(up: (x: tf.Tensor4D) => tf.Tensor4D, shape: [number, number, number, number], seed: number) {
  let y: Float32Array = new Float32Array(0);
  const info = await tf.profile(() => {
    tf.tidy(() => {
      y = up(seededTensor(shape, seed) as tf.Tensor4D).dataSync().slice() as Float32Array;
    });
  });
  return { y, kernels: info.kernels.map((k) => k.name) };
}

describe('nearest ×2 kernel (DetexUpsampleNearest2x) vs the composed upsampling', function () {
  this.timeout(60000);
  const reload = nativeKernelToggle('DETEX_NATIVE_UPSAMPLE', UPSAMPLE_NEAREST_2X, 'the nearest ×2 kernel');

  for (const [name, up] of [['VAE', vaeUpsample], ['UNet', unetUpsample]] as const) {
    SHAPES.forEach((shape, i) =>
      it(`${name}: [${shape}] gives the composed values exactly`, async () => {
        reload(false);
        const ref = await run(up, shape, 700 + i);
        reload(true);
        const got = await run(up, shape, 700 + i);
        assert.deepStrictEqual(got.kernels, [UPSAMPLE_NEAREST_2X]);
        assert.ok(!ref.kernels.includes(UPSAMPLE_NEAREST_2X), 'reference is composed');
        assert.deepStrictEqual(got.y, ref.y);
      }));
  }

  it('runs composed under a gradient tape (d/dx sums each 2×2 block)', () => {
    reload(true);
    const x = seededTensor([1, 2, 3, 2], 710) as tf.Tensor4D;
    const g = tf.grad((z: tf.Tensor) => tf.sum(vaeUpsample(z as tf.Tensor4D)))(x);
    assert.deepStrictEqual(Array.from(g.dataSync()), new Array(12).fill(4));
    tf.dispose([x, g]);
  });
});
