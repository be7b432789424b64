/** UNet2DConditionModel.load: a diffusers unet/ folder, its fp16 variant, and the errors for wrong folders. */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { fixture } from '../../helpers/fixtures';
import { readSafetensors, writeSafetensors, WritableTensor } from '../../../lib/io/safetensors';
import { UNet2DConditionModel } from '../../../lib/models/unet/unet';
import { removeTempDir, tempDir } from '../../helpers/temp-dir';

describe('models/unet load', function () {
  const dir = fixture('sd-tiny');
  if (!dir) return;
  let tmp: string;

  before(() => {
    // an fp16 variant of sd-tiny's unet, as diffusers' save_pretrained(variant="fp16") names it
    tmp = tempDir('detex-unet-');
    fs.copyFileSync(path.join(dir, 'unet', 'config.json'), path.join(tmp, 'config.json'));
    const { tensors } = readSafetensors(path.join(dir, 'unet', 'diffusion_pytorch_model.safetensors'));
    const half = new Map<string, WritableTensor>([...tensors].map(([k, v]) => [k, { ...v, as: 'F16' }]));
    writeSafetensors(path.join(tmp, 'diffusion_pytorch_model.fp16.safetensors'), half);
  });
  after(() => removeTempDir(tmp));

  it('should load the fp16 variant (F16 → float32) and predict like the float32 weights within fp16 rounding', () => {
    const before = tf.memory().numTensors;
    const full = UNet2DConditionModel.load(path.join(dir, 'unet'));
    const half = UNet2DConditionModel.load(tmp, { variant: 'fp16' });
    const diff = tf.tidy(() => {
      const x = tf.randomNormal([1, 8, 8, 4], 0, 1, 'float32', 3) as tf.Tensor4D;
      const ctx = tf.randomNormal([1, 77, 32], 0, 1, 'float32', 4) as tf.Tensor3D;
      return tf.max(tf.abs(tf.sub(full.forward(x, [500], ctx), half.forward(x, [500], ctx)))).dataSync()[0];
    });
    full.dispose();
    half.dispose();
    assert.ok(diff > 0 && diff < 2e-2, `max |fp16 − fp32| = ${diff}`);
    assert.equal(tf.memory().numTensors, before);
  });

  it('should say which file is missing (no variant file, no weights) and refuse a non-UNet config', () => {
    assert.throws(() => UNet2DConditionModel.load(tmp), /no diffusion_pytorch_model\.safetensors .*Found instead: diffusion_pytorch_model\.fp16\.safetensors/);
    assert.throws(() => UNet2DConditionModel.load(path.join(dir, 'vae')), /is for AutoencoderKL, not UNet2DConditionModel/);
  });
});
