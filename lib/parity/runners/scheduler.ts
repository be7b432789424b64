/**
 * Parity runner for the `scheduler` cases of sd-tiny: the DDIM schedule (β, ᾱ, timesteps), chained DDIM steps
 * (η = 0 and η = 1 with given noise), and add_noise. DDIM is elementwise, so the NCHW tensors are used as they are.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { fromTfSync, HostTensor, hostTensor, toTf } from '../../io/host-tensor';
import { readComponentConfig } from '../../io/diffusers-folder';
import { DDIMScheduler } from '../../schedulers/ddim';
import { TensorCheck } from '../compare';
import { CaseRunner, RunContext, RunOutput } from '../runner';

function loadScheduler(dir: string): DDIMScheduler {
  return DDIMScheduler.fromConfig(readComponentConfig(path.join(dir, 'scheduler')), () => {});
}

function scalarCheck(name: string, actual: number, expected: number, atol: number): TensorCheck {
  const err = Math.abs(actual - expected);
  return { name, pass: err <= atol, maxAbsErr: err, tolerance: `atol ${atol}`, detail: err <= atol ? undefined : `${actual} vs ${expected}` };
}

function ints(values: number[]): HostTensor {
  return hostTensor('int32', [values.length], Int32Array.from(values));
}

function runSchedule(ctx: RunContext): RunOutput {
  const s = loadScheduler(ctx.dir);
  const outputs = new Map<string, HostTensor>();
  outputs.set('betas', hostTensor('float32', [s.betas.length], s.betas));
  outputs.set('alphas_cumprod', hostTensor('float32', [s.alphasCumprod.length], s.alphasCumprod));
  for (const name of Object.keys(ctx.kase.expected ?? {})) {
    const m = /^timesteps_(\d+)$/.exec(name);
    if (!m) continue;
    s.setTimesteps(Number(m[1]));
    outputs.set(name, ints(s.timesteps));
  }
  const args = ctx.kase.args ?? {};
  const checks: TensorCheck[] = [];
  if (typeof args.final_alpha_cumprod === 'number') {
    checks.push(scalarCheck('final_alpha_cumprod', s.finalAlphaCumprod, args.final_alpha_cumprod, 1e-7));
  }
  if (typeof args.init_noise_sigma === 'number') {
    checks.push(scalarCheck('init_noise_sigma', s.initNoiseSigma, args.init_noise_sigma, 0));
  }
  return { outputs, checks: checks.length ? checks : undefined };
}

function runSteps(ctx: RunContext): RunOutput {
  const s = loadScheduler(ctx.dir);
  const args = ctx.kase.args ?? {};
  const steps = Number(args.num_inference_steps);
  const eta = Number(args.eta ?? 0);
  s.setTimesteps(steps);
  const given = Array.from(ctx.tensor('timesteps').data);
  const checks: TensorCheck[] = [];
  const same = given.length === s.timesteps.length && given.every((t, i) => t === s.timesteps[i]);
  checks.push({ name: 'timesteps', pass: same, maxAbsErr: same ? 0 : NaN, tolerance: 'exact', detail: same ? undefined : `[${s.timesteps}] vs [${given}]` });

  const hasNoise = ctx.kase.inputs?.variance_noise !== undefined;
  const [prev, pred] = tf.tidy(() => {
    let x = toTf(ctx.tensor('sample'));
    const outs = toTf(ctx.tensor('model_outputs'));
    const noise = hasNoise ? toTf(ctx.tensor('variance_noise')) : undefined;
    const prevs: tf.Tensor[] = [];
    const preds: tf.Tensor[] = [];
    const perStep = x.shape;
    s.timesteps.forEach((t, i) => {
      const pick = (all: tf.Tensor) => tf.reshape(tf.slice(all, i, 1), perStep);
      const o = s.step(pick(outs), t, x, { eta, varianceNoise: noise ? pick(noise) : undefined });
      prevs.push(o.prevSample);
      preds.push(o.predOriginalSample);
      x = o.prevSample;
    });
    return [tf.stack(prevs), tf.stack(preds)];
  });
  try {
    const outputs = new Map([
      ['prev_samples', fromTfSync(prev)],
      ['pred_original_samples', fromTfSync(pred)],
    ]);
    return { outputs, checks };
  } finally {
    prev.dispose();
    pred.dispose();
  }
}

function runAddNoise(ctx: RunContext): RunOutput {
  const s = loadScheduler(ctx.dir);
  const timesteps = Array.from(ctx.tensor('timesteps').data);
  const noisy = tf.tidy(() => s.addNoise(toTf(ctx.tensor('original_samples')), toTf(ctx.tensor('noise')), timesteps));
  try {
    return { outputs: new Map([['noisy_samples', fromTfSync(noisy)]]) };
  } finally {
    noisy.dispose();
  }
}

export const runner: CaseRunner = {
  name: 'scheduler',
  matches: (_m, kase) => kase.component === 'scheduler',
  async run(ctx) {
    const name = ctx.kase.name;
    if (name === 'ddim_schedule' || ctx.kase.expected?.alphas_cumprod) return runSchedule(ctx);
    if (ctx.kase.expected?.prev_samples) return runSteps(ctx);
    if (ctx.kase.expected?.noisy_samples) return runAddNoise(ctx);
    throw new Error(`scheduler runner: case "${name}" has no outputs this runner knows`);
  },
};
