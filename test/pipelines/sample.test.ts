import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { sample } from '../../lib/pipelines/sample';
import { SamplingCancelledError } from '../../lib/pipelines/cancellation';
import { Denoiser, LatentDecoder, SampleOptions } from '../../lib/pipelines/types';
import { DDIMScheduler } from '../../lib/schedulers/ddim';
import { runner } from '../../lib/parity/runners/pipeline';
import { runParity, formatResult } from '../../lib/parity/engine';
import { expectNoLeak } from '../helpers/leak';
import { fixture } from '../helpers/fixtures';

/** ε = 0.1·x + (mean of each item's embedding), so the output depends on which embedding each item got. */
class FakeDenoiser implements Denoiser {
  calls: Array<{ timesteps: number[]; embedMeans: number[] }> = [];
  forward(x: tf.Tensor4D, timesteps: number[], ehs: tf.Tensor3D): tf.Tensor4D {
    return tf.tidy(() => {
      const m = tf.mean(ehs, [1, 2]);
      this.calls.push({ timesteps: [...timesteps], embedMeans: Array.from(m.dataSync()) });
      return tf.add(tf.mul(x, 0.1), tf.reshape(m, [-1, 1, 1, 1]));
    });
  }
}

/** decode = the first 3 latent channels, 2× nearest (scaleFactor 2). */
const fakeVae: LatentDecoder = {
  scalingFactor: 0.5,
  scaleFactor: 2,
  config: { latent_channels: 4 },
  decode: (z) => tf.tidy(() => tf.image.resizeNearestNeighbor(tf.slice(z, [0, 0, 0, 0], [-1, -1, -1, 3]), [z.shape[1] * 2, z.shape[2] * 2])),
};

const SD14 = { beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear', clip_sample: false, set_alpha_to_one: false, steps_offset: 1 };

function embeds(values: number[]): tf.Tensor3D {
  return tf.tidy(() => tf.mul(tf.ones([values.length, 3, 2]), tf.reshape(tf.tensor1d(values), [-1, 1, 1])) as tf.Tensor3D);
}

async function run(extra: Partial<SampleOptions> = {}) {
  const pe = embeds([1, 2]);
  const ne = embeds([-5]);
  const unet = new FakeDenoiser();
  try {
    const r = await sample({
      unet,
      vae: fakeVae,
      scheduler: new DDIMScheduler(SD14),
      promptEmbeds: pe,
      negativeEmbeds: ne,
      guidanceScale: 3,
      steps: 4,
      seed: 11,
      height: 8,
      width: 6,
      ...extra,
    });
    return { r, unet };
  } finally {
    tf.dispose([pe, ne]);
  }
}

describe('pipelines/sample: DDIM + classifier-free guidance', () => {
  it('should pass e2e_ddim10_gs6 (real sd-tiny UNet + VAE + DDIM) within tolerance, leak-free', async function () {
    const dir = fixture('sd-tiny');
    if (!dir) return this.skip();
    const report = await runParity(dir, [runner], undefined, (_f, name) => name === 'e2e_ddim10_gs6');
    const lines = report.results.flatMap(formatResult);
    assert.strictEqual(report.results.length, 1, lines.join('\n'));
    assert.strictEqual(report.failed, 0, lines.join('\n'));
  });

  it('should return latents [2,4,3,4] and images [2,8,6,3] in [0,1] and free everything else', async () => {
    await expectNoLeak(async () => {
      const { r } = await run();
      assert.deepStrictEqual(r.latents.shape, [2, 4, 3, 4]);
      assert.deepStrictEqual(r.images!.shape, [2, 8, 6, 3]);
      assert.ok(r.images!.dataSync().every((v) => v >= 0 && v <= 1));
      assert.deepStrictEqual(r.timesteps, [751, 501, 251, 1]);
      tf.dispose([r.latents, r.images!]);
    });
  });

  it('should put the unconditional half first, pass one timestep per item, and reproduce seeds', async () => {
    const a = await run();
    const b = await run();
    assert.deepStrictEqual(a.unet.calls[0].embedMeans, [-5, -5, 1, 2]);
    assert.deepStrictEqual(a.unet.calls[1].timesteps, [501, 501, 501, 501]);
    assert.deepStrictEqual(a.r.latents.dataSync(), b.r.latents.dataSync());
    const c = await run({ seed: 12 });
    assert.notDeepStrictEqual(a.r.latents.dataSync(), c.r.latents.dataSync());
    tf.dispose([a.r.latents, a.r.images!, b.r.latents, b.r.images!, c.r.latents, c.r.images!]);
  });

  it('should repeat each prompt numImagesPerPrompt times, adjacent, with image i independent of the count', async () => {
    const two = await run({ numImagesPerPrompt: 2, outputType: 'latent' });
    assert.deepStrictEqual(two.unet.calls[0].embedMeans, [-5, -5, -5, -5, 1, 1, 2, 2]);
    assert.strictEqual(two.r.images, undefined);
    const one = await run({ outputType: 'latent' });
    // image 0 (prompt 1, copy 0) starts from the same noise whatever the batch: same seed stream 'latents:0'
    const first = (t: tf.Tensor4D) => tf.tidy(() => tf.slice(t, [0, 0, 0, 0], [1, -1, -1, -1]).dataSync());
    assert.deepStrictEqual(first(two.r.latents), first(one.r.latents));
    tf.dispose([two.r.latents, one.r.latents]);
  });

  it('should skip guidance at guidanceScale 1 and use η noise reproducibly from the seed', async () => {
    const a = await run({ guidanceScale: 1, eta: 1, outputType: 'latent' });
    assert.deepStrictEqual(a.unet.calls[0].embedMeans, [1, 2]);
    const b = await run({ guidanceScale: 1, eta: 1, outputType: 'latent' });
    assert.deepStrictEqual(a.r.latents.dataSync(), b.r.latents.dataSync());
    tf.dispose([a.r.latents, b.r.latents]);
  });

  it('should use given latents × init_noise_sigma without taking ownership', async () => {
    const lat = tf.ones([2, 2, 2, 4]) as tf.Tensor4D;
    const { r } = await run({ latents: lat, seed: undefined, height: undefined, width: undefined, outputType: 'latent' });
    assert.ok(!lat.isDisposed);
    assert.deepStrictEqual(r.latents.shape, [2, 2, 2, 4]);
    tf.dispose([lat, r.latents]);
  });

  it('should report progress with previews and cancel cleanly when onStep returns false', async () => {
    await expectNoLeak(async () => {
      const seen: number[] = [];
      let previewShape: number[] | undefined;
      await assert.rejects(
        run({
          preview: { every: 2 },
          onStep: (info) => {
            seen.push(info.step);
            if (info.preview) previewShape = info.preview.shape;
            assert.strictEqual(info.total, 4);
            return info.step < 3;
          },
        }),
        (e: Error) => e instanceof SamplingCancelledError && /cancelled after 3\/4 steps/.test(e.message),
      );
      assert.deepStrictEqual(seen, [1, 2, 3]);
      assert.deepStrictEqual(previewShape, [2, 4, 3, 3]);
    });
  });

  it('should cancel on an AbortSignal and keep the event loop responsive between steps', async () => {
    await expectNoLeak(async () => {
      const ctl = new AbortController();
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 0);
      await assert.rejects(
        run({ steps: 20, onStep: (i) => (i.step === 5 ? ctl.abort() : undefined), signal: ctl.signal }),
        (e: Error) => e.name === 'AbortError' && /after 5\/20/.test(e.message),
      );
      clearInterval(ticker);
      assert.ok(ticks > 0, 'timers ran during sampling');
    });
  });

  it('should let concurrent runs share one scheduler (each run sets its own timesteps)', async () => {
    const shared = new DDIMScheduler(SD14);
    const solo3 = await run({ scheduler: shared, steps: 3, outputType: 'latent' });
    const solo5 = await run({ scheduler: shared, steps: 5, outputType: 'latent' });
    const [a, b] = await Promise.all([
      run({ scheduler: shared, steps: 3, outputType: 'latent' }),
      run({ scheduler: shared, steps: 5, outputType: 'latent' }),
    ]);
    assert.deepStrictEqual(a.r.latents.dataSync(), solo3.r.latents.dataSync());
    assert.deepStrictEqual(b.r.latents.dataSync(), solo5.r.latents.dataSync());
    tf.dispose([solo3.r.latents, solo5.r.latents, a.r.latents, b.r.latents]);
  });

  it('should reject bad inputs naming the problem', async () => {
    await expectNoLeak(async () => {
      await assert.rejects(run({ negativeEmbeds: undefined }), /needs negativeEmbeds/);
      await assert.rejects(run({ height: 7 }), /multiples of 2/);
      await assert.rejects(run({ seed: undefined }), /seed or initial latents/);
      await assert.rejects(run({ steps: 0 }), /steps must be a positive integer/);
      const bad = tf.ones([1, 2, 2, 4]) as tf.Tensor4D;
      await assert.rejects(run({ latents: bad }), /latents must be NHWC \[2, h, w, 4\]/);
      bad.dispose();
    });
  });
});
