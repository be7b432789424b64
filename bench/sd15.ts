/**
 * SD v1.5's real unet/config.json (runwayml/stable-diffusion-v1-5, diffusers layout) with seeded random
 * weights, for the SD-sized bench row. The weights are drawn once by lib/nn/init's seededInitializer through
 * ParamStore.initializing (so they are exactly what our loader-free build would use) and streamed into a
 * safetensors file that both sides then load: 3.4 GB of float32, cached in $DETEX_SD15_DIR or the temp folder.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const SD15_UNET_CONFIG = {
  _class_name: 'UNet2DConditionModel',
  _diffusers_version: '0.6.0',
  act_fn: 'silu',
  attention_head_dim: 8,
  block_out_channels: [320, 640, 1280, 1280],
  center_input_sample: false,
  cross_attention_dim: 768,
  down_block_types: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
  downsample_padding: 1,
  flip_sin_to_cos: true,
  freq_shift: 0,
  in_channels: 4,
  layers_per_block: 2,
  mid_block_scale_factor: 1,
  norm_eps: 1e-5,
  norm_num_groups: 32,
  out_channels: 4,
  sample_size: 64,
  up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
};

export function sd15Dir(): string {
  return process.env.DETEX_SD15_DIR ?? path.join(os.tmpdir(), 'detex-bench-sd15-unet');
}

const HEADER_BYTES = 1 << 20; // reserved, space-padded: the JSON header is only known after the weights

/** Writes config.json + diffusion_pytorch_model.safetensors unless already there. Returns the folder. */
export function ensureSd15Weights(seed = 1234): string {
  const dir = sd15Dir();
  const file = path.join(dir, 'diffusion_pytorch_model.safetensors');
  if (fs.existsSync(file)) return dir;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(SD15_UNET_CONFIG, null, 2));
  /* eslint-disable @typescript-eslint/no-require-imports */
  const tf = require('@tensorflow/tfjs-core');
  require('@tensorflow/tfjs-backend-cpu'); // this (parent) process has no backend yet; cpu initialises synchronously
  void tf.setBackend('cpu');
  const { ParamStore } = require('../lib/nn/params');
  const { seededInitializer } = require('../lib/nn/init');
  const { UNet2DConditionModel } = require('../lib/models/unet/unet');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const tmp = file + '.partial';
  const fd = fs.openSync(tmp, 'w');
  const header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> = {};
  let offset = 0;
  const init = seededInitializer(seed);
  // Each parameter is written as it is drawn, so the 3.4 GB never sit in memory twice.
  const store = ParamStore.initializing((name: string, shape: readonly number[]) => {
    const h = init(name, shape);
    const data = h.data as Float32Array;
    fs.writeSync(fd, data, 0, data.byteLength, 8 + HEADER_BYTES + offset);
    header[name] = { dtype: 'F32', shape: [...shape], data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
    return h;
  });
  const model = UNet2DConditionModel.fromConfig(SD15_UNET_CONFIG, store, { warn: () => {} });
  model.dispose();
  tf.disposeVariables();
  const json = JSON.stringify(header);
  if (json.length > HEADER_BYTES) throw new Error('sd15: header larger than reserved');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(HEADER_BYTES));
  fs.writeSync(fd, len, 0, 8, 0);
  fs.writeSync(fd, Buffer.from(json.padEnd(HEADER_BYTES, ' '), 'utf8'), 0, HEADER_BYTES, 8);
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  return dir;
}
