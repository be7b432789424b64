/**
 * Parity runner for the AutoencoderKL cases of sd-tiny: vae_encode (mean, clamped logvar, reparameterised
 * sample), vae_decode (raw decoder output), and the loader case vae_legacy_attention_names (a checkpoint with
 * the old mid-block attention names must load to exactly the same parameters). NCHW ↔ NHWC at this boundary.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { fromTfSync, HostTensor, toTf } from '../../io/host-tensor';
import { AutoencoderKL } from '../../models/vae/autoencoder-kl';
import { nchwToNhwc, nhwcToNchw } from '../../pipelines/layout';
import { TensorCheck } from '../compare';
import { CaseRunner, RunContext, RunOutput } from '../runner';

function loadVae(dir: string, sub = 'vae'): AutoencoderKL {
  return AutoencoderKL.load(path.join(dir, sub), { warn: () => {} });
}

function nhwcInput(ctx: RunContext, name: string): tf.Tensor4D {
  return tf.tidy(() => nchwToNhwc(toTf(ctx.tensor(name)) as tf.Tensor4D));
}

/** Takes ownership of `t` (NHWC) and returns it as NCHW host data. */
function nchwOutput(t: tf.Tensor4D): HostTensor {
  const nchw = nhwcToNchw(t);
  t.dispose();
  try {
    return fromTfSync(nchw);
  } finally {
    nchw.dispose();
  }
}

function runEncode(ctx: RunContext): RunOutput {
  const vae = loadVae(ctx.dir);
  try {
    const image = nhwcInput(ctx, 'image');
    const noise = nhwcInput(ctx, 'noise');
    const dist = vae.encode(image);
    const sample = dist.sample(noise);
    image.dispose();
    noise.dispose();
    return {
      outputs: new Map([
        ['latent_mean', nchwOutput(dist.mean)],
        ['latent_logvar', nchwOutput(dist.logvar)],
        ['latent_sample', nchwOutput(sample)],
      ]),
    };
  } finally {
    vae.dispose();
  }
}

function runDecode(ctx: RunContext): RunOutput {
  const vae = loadVae(ctx.dir);
  try {
    const latent = nhwcInput(ctx, 'latent');
    const image = vae.decode(latent);
    latent.dispose();
    return { outputs: new Map([['image', nchwOutput(image)]]) };
  } finally {
    vae.dispose();
  }
}

/** Every parameter of the legacy-named checkpoint must equal the current-named one, bit for bit. */
function runLegacyNames(ctx: RunContext): RunOutput {
  const current = loadVae(ctx.dir, 'vae');
  let legacy: AutoencoderKL | undefined;
  try {
    legacy = loadVae(ctx.dir, path.dirname(ctx.kase.file ?? 'vae_legacy_names/x'));
    const names = current.params.names().sort();
    const legacyNames = legacy.params.names().sort();
    const checks: TensorCheck[] = [];
    const sameNames = names.length === legacyNames.length && names.every((n, i) => n === legacyNames[i]);
    checks.push({
      name: 'parameter names after rename',
      pass: sameNames,
      maxAbsErr: sameNames ? 0 : NaN,
      tolerance: 'exact',
      detail: sameNames ? `${names.length} parameters` : `${names.length} vs ${legacyNames.length} names`,
    });
    let worst = 0;
    let firstBad: string | undefined;
    for (const n of names) {
      if (!legacy.params.has(n)) continue;
      const a = current.params.toHost(n).data;
      const b = legacy.params.toHost(n).data;
      for (let i = 0; i < a.length; i++) {
        const d = Math.abs(a[i] - b[i]);
        if (d > worst || Number.isNaN(d)) {
          worst = Number.isNaN(d) ? Infinity : d;
          firstBad ??= n;
        }
      }
    }
    checks.push({ name: 'parameter values', pass: worst === 0, maxAbsErr: worst, tolerance: 'exact', detail: firstBad });
    const renames = (ctx.kase.args?.legacy_name_to_current_name ?? {}) as Record<string, string>;
    const missing = Object.values(renames).filter((n) => !legacy!.params.has(n));
    checks.push({
      name: 'manifest renames present',
      pass: missing.length === 0,
      maxAbsErr: missing.length,
      tolerance: 'all',
      detail: `${Object.keys(renames).length} renames${missing.length ? `; missing ${missing.join(', ')}` : ''}`,
    });
    return { checks };
  } finally {
    current.dispose();
    legacy?.dispose();
  }
}

export const runner: CaseRunner = {
  name: 'vae',
  matches: (_m, kase) => typeof kase.component === 'string' && /^vae\b/.test(kase.component),
  async run(ctx) {
    if (ctx.kase.kind === 'loader') return runLegacyNames(ctx);
    if (ctx.kase.expected?.latent_mean) return runEncode(ctx);
    if (ctx.kase.expected?.image && ctx.kase.inputs?.latent) return runDecode(ctx);
    throw new Error(`vae runner: case "${ctx.kase.name}" has no outputs this runner knows`);
  },
};
