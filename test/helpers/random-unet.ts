/** Trained-looking small UNets and their predictions, for tests that transform UNet weights (widen, deepen). */
import * as tf from '@tensorflow/tfjs-core';
import { HostTensor } from '../../lib/io/host-tensor';
import { UNet2DConditionModel } from '../../lib/models/unet/unet';
import { ParamStore } from '../../lib/nn/params';
import { seededInitializer } from '../../lib/nn/init';
import { Rng } from '../../lib/random';
import { unetConfig } from '../../scripts/pretrain/unet-config';

/** Seeded weights with every bias and norm affine perturbed, so zeros hide no mistake. */
export function randomUNet(channels: number[], layers: number | number[] = 1): { config: Record<string, unknown>; weights: Map<string, HostTensor> } {
  const config = unetConfig(channels, layers);
  const store = ParamStore.initializing(seededInitializer(7));
  const model = UNet2DConditionModel.fromConfig(config as never, store);
  const rng = new Rng(3);
  const weights = new Map<string, HostTensor>();
  for (const name of store.names()) {
    const h = store.toHost(name);
    const d = h.data as Float32Array;
    const noise = rng.normal([d.length]);
    for (let i = 0; i < d.length; i++) d[i] += 0.05 * noise[i];
    weights.set(name, h);
  }
  model.dispose();
  return { config, weights };
}

/** The noise prediction for two fixed random latents, timesteps and contexts. */
export function predictWith(config: Record<string, unknown>, store: ParamStore): Float32Array {
  const model = UNet2DConditionModel.fromConfig(config as never, store);
  const rng = new Rng(11);
  try {
    return tf.tidy(() => {
      const x = tf.tensor4d(rng.normal([2, 16, 16, 4]), [2, 16, 16, 4]);
      const ctx = tf.tensor3d(rng.normal([2, 77, 128]), [2, 77, 128]);
      return model.forward(x, [37, 640], ctx).dataSync() as Float32Array;
    });
  } finally {
    model.dispose();
  }
}

export function predict(config: Record<string, unknown>, weights: Map<string, HostTensor>): Float32Array {
  return predictWith(config, ParamStore.fromHost(weights));
}

export function relError(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += a[i] ** 2;
  }
  return Math.sqrt(num / den);
}
