/**
 * Parity runner for the end-to-end sd-tiny case (e2e_ddim10_gs6): the real UNet, VAE and DDIM through
 * `sample()` with the case's initial latents and embeddings, checking every step's guided noise prediction
 * and latents, the final latents, the raw decode and the [0, 1] image. NCHW ↔ NHWC at this boundary.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { fromTfSync, HostTensor, hostTensor, toTf } from '../../io/host-tensor';
import { readComponentConfig } from '../../io/diffusers-folder';
import { AutoencoderKL } from '../../models/vae/autoencoder-kl';
import { UNet2DConditionModel } from '../../models/unet/unet';
import { DDIMScheduler } from '../../schedulers/ddim';
import { decodeLatentsRaw, toUnitRange } from '../../pipelines/decode';
import { nchwToNhwc, nhwcToNchw } from '../../pipelines/layout';
import { sample } from '../../pipelines/sample';
import { CaseRunner, RunContext, RunOutput } from '../runner';

/** NHWC tensor → NCHW host data (does not dispose `t`). */
function toNchwHost(t: tf.Tensor4D): HostTensor {
  const nchw = nhwcToNchw(t);
  try {
    return fromTfSync(nchw);
  } finally {
    nchw.dispose();
  }
}

/** Stack per-step NCHW host tensors into (steps, …). */
function stackHost(parts: HostTensor[]): HostTensor {
  const per = parts[0].data.length;
  const data = new Float32Array(per * parts.length);
  parts.forEach((p, i) => data.set(p.data as Float32Array, i * per));
  return hostTensor('float32', [parts.length, ...parts[0].shape], data);
}

async function runE2E(ctx: RunContext): Promise<RunOutput> {
  const args = ctx.kase.args ?? {};
  const unet = UNet2DConditionModel.load(path.join(ctx.dir, 'unet'), { warn: () => {} });
  const vae = AutoencoderKL.load(path.join(ctx.dir, 'vae'), { warn: () => {} });
  const scheduler = DDIMScheduler.fromConfig(readComponentConfig(path.join(ctx.dir, 'scheduler')), () => {});
  const latents0 = tf.tidy(() => nchwToNhwc(toTf(ctx.tensor('initial_latents')) as tf.Tensor4D));
  const cond = toTf(ctx.tensor('cond_embeddings')) as tf.Tensor3D;
  const uncond = toTf(ctx.tensor('uncond_embeddings')) as tf.Tensor3D;
  const stepNoise: HostTensor[] = [];
  const stepLatents: HostTensor[] = [];
  try {
    const result = await sample({
      unet,
      vae,
      scheduler,
      promptEmbeds: cond,
      negativeEmbeds: uncond,
      guidanceScale: Number(args.guidance_scale),
      steps: Number(args.num_inference_steps),
      eta: Number(args.eta ?? 0),
      latents: latents0,
      outputType: 'latent',
      onStepTensors: (_step, _t, s) => {
        stepNoise.push(toNchwHost(s.noisePred));
        stepLatents.push(toNchwHost(s.latents));
      },
    });
    const decoded = decodeLatentsRaw(vae, result.latents);
    const image = toUnitRange(decoded);
    try {
      return {
        outputs: new Map([
          ['timesteps', hostTensor('int32', [result.timesteps.length], Int32Array.from(result.timesteps))],
          ['step_noise_pred', stackHost(stepNoise)],
          ['step_latents', stackHost(stepLatents)],
          ['latents', toNchwHost(result.latents)],
          ['decoded', toNchwHost(decoded)],
          ['image', toNchwHost(image)],
        ]),
      };
    } finally {
      tf.dispose([result.latents, decoded, image]);
    }
  } finally {
    tf.dispose([latents0, cond, uncond]);
    unet.dispose();
    vae.dispose();
  }
}

export const runner: CaseRunner = {
  name: 'pipeline',
  matches: (_m, kase) => typeof kase.component === 'string' && kase.component.startsWith('pipeline'),
  async run(ctx) {
    if (ctx.kase.inputs?.initial_latents) return runE2E(ctx);
    throw new Error(`pipeline runner: case "${ctx.kase.name}" has no inputs this runner knows`);
  },
};
