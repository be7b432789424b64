/**
 * Text-to-image sampling with classifier-free guidance (Ho & Salimans 2022) and DDIM, written as the phases of
 * diffusers' `StableDiffusionPipeline.__call__` (v0.27.2) so the two can be read side by side:
 *
 *   1. check inputs            4. prepare latents (seeded, × init_noise_sigma)
 *   2. batch the embeddings     5. denoising loop (guidance, scheduler step, callbacks, cancellation)
 *   3. set timesteps            6. decode with the VAE
 *
 * NHWC throughout. The loop yields to the event loop after every step so a host (Node-RED) stays responsive,
 * and frees every intermediate: only the returned tensors outlive the call, also when it throws or is cancelled.
 *
 * Seeds: image i's initial noise comes from `Rng(seed).fork('latents:' + i)`, so an image depends on the seed and
 * its index only (not on the batch size); η noise comes from `fork('eta')`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../random';
import { SamplingCancelledError, yieldToEventLoop } from './cancellation';
import { decodeLatents } from './decode';
import { latentPreview } from './preview';
import { SampleOptions, SampleResult } from './types';

interface Checked {
  guidance: boolean;
  batch: number;
  count: number;
  latentShape: [number, number, number, number];
  steps: number;
  eta: number;
  guidanceScale: number;
}

/** Phase 1: fail early, naming what is wrong. */
function checkInputs(o: SampleOptions): Checked {
  const steps = o.steps ?? 50;
  const eta = o.eta ?? 0;
  const guidanceScale = o.guidanceScale ?? 7.5;
  const count = o.numImagesPerPrompt ?? 1;
  const guidance = guidanceScale > 1;
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`sample: steps must be a positive integer, got ${steps}`);
  if (!(eta >= 0)) throw new Error(`sample: eta must be ≥ 0, got ${eta}`);
  if (!Number.isInteger(count) || count < 1) throw new Error(`sample: numImagesPerPrompt must be a positive integer, got ${count}`);
  const pe = o.promptEmbeds;
  if (pe.rank !== 3) throw new Error(`sample: promptEmbeds must be [B, N, C], got [${pe.shape}]`);
  const batch = pe.shape[0];
  if (guidance) {
    const ne = o.negativeEmbeds;
    if (!ne) throw new Error(`sample: guidanceScale ${guidanceScale} > 1 needs negativeEmbeds (the unconditional "" embedding at least)`);
    if (ne.rank !== 3 || ne.shape[1] !== pe.shape[1] || ne.shape[2] !== pe.shape[2] || (ne.shape[0] !== batch && ne.shape[0] !== 1)) {
      throw new Error(`sample: negativeEmbeds [${ne.shape}] must match promptEmbeds [${pe.shape}] (or have batch 1)`);
    }
  }
  const f = o.vae.scaleFactor;
  const zc = o.vae.config.latent_channels;
  let latentShape: [number, number, number, number];
  if (o.latents) {
    const s = o.latents.shape;
    if (o.latents.rank !== 4 || s[0] !== batch * count || s[3] !== zc) {
      throw new Error(`sample: latents must be NHWC [${batch * count}, h, w, ${zc}], got [${s}]`);
    }
    if ((o.height !== undefined && o.height !== s[1] * f) || (o.width !== undefined && o.width !== s[2] * f)) {
      throw new Error(`sample: latents [${s}] give ${s[1] * f}×${s[2] * f} pixels, but height×width is ${o.height}×${o.width}`);
    }
    latentShape = [s[0], s[1], s[2], s[3]];
  } else {
    const { height, width } = o;
    if (height === undefined || width === undefined) throw new Error('sample: height and width are required without latents');
    if (height % f !== 0 || width % f !== 0 || height <= 0 || width <= 0) {
      throw new Error(`sample: height and width must be positive multiples of ${f}, got ${height}×${width}`);
    }
    latentShape = [batch * count, height / f, width / f, zc];
  }
  if (!o.latents && o.seed === undefined) throw new Error('sample: give a seed or initial latents');
  if (eta > 0 && o.seed === undefined) throw new Error('sample: eta > 0 needs a seed for the variance noise');
  return { guidance, batch, count, latentShape, steps, eta, guidanceScale };
}

/** Phase 2: [B,N,C] → [B·count, N, C] with each prompt's copies adjacent; with guidance, [uncond; cond]. */
function batchEmbeddings(o: SampleOptions, c: Checked): tf.Tensor3D {
  return tf.tidy(() => {
    const repeat = (e: tf.Tensor3D): tf.Tensor3D => {
      const [b, n, d] = e.shape;
      if (b === 1 && c.batch > 1) e = tf.tile(e, [c.batch, 1, 1]);
      if (c.count === 1) return e;
      return tf.reshape(tf.tile(e, [1, c.count, 1]), [c.batch * c.count, n, d]);
    };
    const cond = repeat(o.promptEmbeds);
    return c.guidance ? tf.concat([repeat(o.negativeEmbeds!), cond], 0) : cond;
  });
}

/** Phase 4: N(0, I) latents per image from the seed, or a copy of the given ones, × init_noise_sigma. */
function prepareLatents(o: SampleOptions, c: Checked): tf.Tensor4D {
  const sigma = o.scheduler.initNoiseSigma;
  if (o.latents) return tf.tidy(() => tf.mul(o.latents!, sigma) as tf.Tensor4D);
  const [n, h, w, ch] = c.latentShape;
  const root = new Rng(o.seed!);
  const data = new Float32Array(n * h * w * ch);
  for (let i = 0; i < n; i++) data.set(root.fork(`latents:${i}`).normal([h, w, ch]), i * h * w * ch);
  return tf.tidy(() => tf.mul(tf.tensor4d(data, c.latentShape), sigma));
}

export async function sample(o: SampleOptions): Promise<SampleResult> {
  // 1. Check inputs
  const c = checkInputs(o);
  const { unet, vae } = o;
  // A private copy: setTimesteps mutates, and another run may share the caller's scheduler while we await.
  const scheduler = o.scheduler.clone();
  const etaRng = o.seed !== undefined ? new Rng(o.seed).fork('eta') : undefined;

  // 2. Batch the prompt embeddings (unconditional half first)
  const embeds = batchEmbeddings(o, c);
  let latents: tf.Tensor4D | undefined;
  try {
    // 3. Timesteps
    scheduler.setTimesteps(c.steps);
    const timesteps = [...scheduler.timesteps];

    // 4. Initial latents
    latents = prepareLatents(o, c);

    // 5. Denoising loop
    for (let i = 0; i < timesteps.length; i++) {
      if (o.signal?.aborted) throw new SamplingCancelledError(i, c.steps, 'signal aborted');
      const t = timesteps[i];
      const current: tf.Tensor4D = latents;
      const { next, noisePred, predOriginal } = tf.tidy(() => {
        // 5a. model input: the latents twice with guidance (scale_model_input is the identity for DDIM)
        const input = scheduler.scaleModelInput(c.guidance ? tf.concat([current, current], 0) : current, t) as tf.Tensor4D;
        const out = unet.forward(input, new Array(input.shape[0]).fill(t), embeds);
        // 5b. classifier-free guidance: ε = ε_u + w·(ε_c − ε_u)
        let eps = out;
        if (c.guidance) {
          const [epsU, epsC] = tf.split(out, 2, 0);
          eps = tf.add(epsU, tf.mul(tf.sub(epsC, epsU), c.guidanceScale));
        }
        // 5c. x_t → x_{t−1}
        const stepped = scheduler.step(eps, t, current, { eta: c.eta, rng: etaRng });
        return { next: stepped.prevSample as tf.Tensor4D, noisePred: eps as tf.Tensor4D, predOriginal: stepped.predOriginalSample as tf.Tensor4D };
      });
      latents = next;
      current.dispose();
      try {
        o.onStepTensors?.(i + 1, t, { noisePred, latents: next, predOriginal });
        // 5d. progress, optional preview, cancellation
        let preview;
        const p = o.preview;
        if (p && p.every > 0 && ((i + 1) % p.every === 0 || i === timesteps.length - 1)) {
          preview = latentPreview(vae, predOriginal, p.mode ?? 'approx');
        }
        const keepGoing = o.onStep ? await o.onStep({ step: i + 1, total: c.steps, t, preview }) : undefined;
        if (keepGoing === false) throw new SamplingCancelledError(i + 1, c.steps, 'onStep returned false');
      } finally {
        noisePred.dispose();
        predOriginal.dispose();
      }
      await yieldToEventLoop();
    }
    if (o.signal?.aborted) throw new SamplingCancelledError(c.steps, c.steps, 'signal aborted');

    // 6. Decode
    const images = o.outputType === 'latent' ? undefined : decodeLatents(vae, latents);
    const result: SampleResult = { latents, images, timesteps };
    latents = undefined; // handed to the caller
    return result;
  } finally {
    embeds.dispose();
    latents?.dispose();
  }
}
