/**
 * The issue's SD-size check without a 3.4 GB file: build SD v1.5's UNet from its real config with seeded
 * weights in memory (ParamStore.initializing), on the cpu backend with the native kernels (WASM's 4 GiB heap
 * cannot hold it), and time one forward pass on a 64×64 latent. Prints one JSON line.
 *
 *   node dist/bench/sd15-forward.js [--batch 1]
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../lib/backend';
import { ParamStore } from '../lib/nn/params';
import { seededInitializer } from '../lib/nn/init';
import { UNet2DConditionModel } from '../lib/models/unet/unet';
import { SD15_UNET_CONFIG } from './sd15';

async function main(): Promise<void> {
  const batch = Number(process.argv[process.argv.indexOf('--batch') + 1] || 1) || 1;
  const info = await initBackend({ modelBytes: 3.4e9 });
  const t0 = Date.now();
  const unet = UNet2DConditionModel.fromConfig(SD15_UNET_CONFIG as never, ParamStore.initializing(seededInitializer(1234)));
  const buildMs = Date.now() - t0;
  const params = unet.store.names().reduce((n, k) => n + unet.store.tensor(k).size, 0);
  const x = tf.randomNormal([batch, 64, 64, 4], 0, 1, 'float32', 1) as tf.Tensor4D;
  const ctx = tf.randomNormal([batch, 77, 768], 0, 1, 'float32', 2) as tf.Tensor3D;
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 200);
  const t1 = Date.now();
  const y = unet.forward(x, [500], ctx);
  const values = await y.data();
  const forwardMs = Date.now() - t1;
  clearInterval(timer);
  let finite = true;
  for (const v of values) if (!Number.isFinite(v)) finite = false;
  console.log(JSON.stringify({ name: 'sd15 unet forward 64x64', backend: `${info.backend} (${info.provider})`, params, batch, buildMs, forwardMs, outShape: y.shape, finite, peak_mib: Math.round(peak / 2 ** 20), load: require('os').loadavg()[0] }));
  tf.dispose([x, ctx, y]);
  unet.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
