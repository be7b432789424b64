/**
 * Parity runner for `sd-tiny`-style UNet cases (`component: "unet"`). From the case's NCHW inputs it
 * computes, in PyTorch layout, whatever the case expects:
 *   noise_pred                     unet(sample, timestep, encoder_hidden_states).sample
 *   intermediate.<module>          hidden state after a top-level module (NCHW for 4-D)
 *   attn_probs.<attn2 path>        head-averaged cross-attention softmax [B, h, w, 77]
 *   loss, grad.<param>             mean((noise_pred − target)²) and its gradients: K/V weights through
 *                                  tf.variableGrads (PyTorch (out, in) layout), encoder_hidden_states
 *                                  through tf.grads on the input.
 * NCHW ↔ NHWC happens here, at the boundary, and nowhere in the model.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { HostTensor, fromTfSync, toTf } from '../../io/host-tensor';
import { ParamLayout } from '../../nn/params';
import { UNet2DConditionModel } from '../../models/unet/unet';
import { CaseRunner } from '../runner';

const INTERMEDIATE = 'intermediate.';
const ATTN = 'attn_probs.';
const GRAD = 'grad.';
const EHS_GRAD = 'grad.encoder_hidden_states';

/** Loads `<fixtureDir>/unet` (config.json + diffusion_pytorch_model.safetensors). Caller disposes. */
export function loadUNetFixtureModel(fixtureDir: string, warn?: (m: string) => void): UNet2DConditionModel {
  return UNet2DConditionModel.load(path.join(fixtureDir, 'unet'), { warn });
}

const nchwToNhwc = (t: tf.Tensor) => tf.transpose(t, [0, 2, 3, 1]) as tf.Tensor4D;
const nhwcToNchw = (t: tf.Tensor) => (t.rank === 4 ? tf.transpose(t, [0, 3, 1, 2]) : t);

/** A gradient in tfjs layout back to the parameter's PyTorch layout. */
function gradToTorchLayout(g: tf.Tensor, layout: ParamLayout): tf.Tensor {
  switch (layout) {
    case 'raw':
      return g;
    case 'linear':
      return tf.transpose(g, [1, 0]);
    case 'conv2d':
    case 'convTranspose2d':
      return tf.transpose(g, [3, 2, 0, 1]);
  }
}

function hostOut(tensors: Record<string, tf.Tensor>): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  try {
    for (const [k, t] of Object.entries(tensors)) out.set(k, fromTfSync(t));
  } finally {
    tf.dispose(Object.values(tensors));
  }
  return out;
}

/**
 * Runs one case on `model`. `input(name)` gives the case file's tensors; `wanted` lists the names to
 * produce (expected and, if desired, intermediates). For `loss` / `grad.*` the K/V weights named by
 * `grad.*` are made trainable in the model's store (the model keeps them as variables afterwards).
 */
export function runUNetCase(model: UNet2DConditionModel, input: (name: string) => HostTensor, wanted: readonly string[]): Map<string, HostTensor> {
  const timesteps = Array.from(input('timestep').data);
  const sampleHost = input('sample');
  const ehsHost = input('encoder_hidden_states');
  const wantsGrad = wanted.some((w) => w === 'loss' || w.startsWith(GRAD));
  const attnPaths = wanted.filter((w) => w.startsWith(ATTN)).map((w) => w.slice(ATTN.length));
  const interNames = wanted.filter((w) => w.startsWith(INTERMEDIATE)).map((w) => w.slice(INTERMEDIATE.length));
  for (const w of wanted) {
    const known = w === 'noise_pred' || w === 'loss' || [INTERMEDIATE, ATTN, GRAD].some((p) => w.startsWith(p));
    if (!known) throw new Error(`UNet case: cannot produce "${w}"`);
  }

  const result: Record<string, tf.Tensor> = tf.tidy(() => {
    const sample = nchwToNhwc(toTf(sampleHost));
    const ehs = toTf(ehsHost) as tf.Tensor3D;
    const r: Record<string, tf.Tensor> = {};
    const fwd = model.forwardWithAttention(sample, timesteps, ehs, {
      captureAttention: { layers: attnPaths },
      intermediates: interNames.length > 0,
    });
    r.noise_pred = nhwcToNchw(fwd.sample);
    for (const p of attnPaths) r[ATTN + p] = fwd.attentionMaps[p];
    for (const m of interNames) {
      const t = fwd.intermediates?.[m];
      if (!t) throw new Error(`UNet case: no intermediate "${m}"`);
      r[INTERMEDIATE + m] = nhwcToNchw(t);
    }
    return r;
  });
  if (!wantsGrad) return pickToHost(result, wanted);

  // gradients: loss = mean((unet(...) − target)²)
  const targetHost = input('target');
  const paramNames = wanted.filter((w) => w.startsWith(GRAD) && w !== EHS_GRAD).map((w) => w.slice(GRAD.length));
  const vars = model.store.makeTrainable((n) => paramNames.includes(n));
  for (const n of paramNames) if (!vars.has(n)) throw new Error(`UNet case: no parameter "${n}" to differentiate`);
  const grads: Record<string, tf.Tensor> = tf.tidy(() => {
    const sample = nchwToNhwc(toTf(sampleHost));
    const target = nchwToNhwc(toTf(targetHost));
    const ehs = toTf(ehsHost) as tf.Tensor3D;
    const lossOf = (e: tf.Tensor3D) => tf.mean(tf.squaredDifference(model.forward(sample, timesteps, e), target)) as tf.Scalar;
    const r: Record<string, tf.Tensor> = {};
    // the trainer's path: only the chosen variables get gradients
    const varList = paramNames.map((n) => vars.get(n)!);
    const { value, grads: byVar } = tf.variableGrads(() => lossOf(ehs), varList);
    r.loss = value;
    for (const n of paramNames) r[GRAD + n] = gradToTorchLayout(byVar[vars.get(n)!.name], model.store.layoutOf(n));
    if (wanted.includes(EHS_GRAD)) r[EHS_GRAD] = tf.grad((e: tf.Tensor) => lossOf(e as tf.Tensor3D))(ehs);
    return r;
  });
  return pickToHost({ ...result, ...grads }, wanted);
}

/** Host copies of the wanted tensors; every tensor given is disposed. */
function pickToHost(all: Record<string, tf.Tensor>, wanted: readonly string[]): Map<string, HostTensor> {
  tf.dispose(Object.entries(all).filter(([k]) => !wanted.includes(k)).map(([, t]) => t));
  return hostOut(Object.fromEntries(Object.entries(all).filter(([k]) => wanted.includes(k))));
}

export const runner: CaseRunner = {
  name: 'unet',
  matches: (_m, kase) => kase.component === 'unet',
  async run(ctx) {
    const model = loadUNetFixtureModel(ctx.dir);
    try {
      const wanted = Object.keys(ctx.kase.expected ?? {});
      return { outputs: runUNetCase(model, ctx.tensor, wanted) };
    } finally {
      model.dispose();
    }
  },
};
