import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { readSafetensors, writeSafetensors, SafetensorsReader } from '../../../lib/io/safetensors';
import { HostTensor, hostTensor, toTf, fromTfSync } from '../../../lib/io/host-tensor';
import { loadCLIPModel, loadCLIPTextModel, loadCLIPVisionModel } from '../../../lib/models/clip/loader';
import { disposeTextOutput } from '../../../lib/models/clip/text-model';
import { disposeVisionOutput } from '../../../lib/models/clip/vision-model';
import { runner } from '../../../lib/parity/runners/clip-vision';
import { fixture } from '../../helpers/fixtures';
import { expectNoLeak } from '../../helpers/leak';
import { failures, runFixture } from './parity-helper';
import { removeTempDir, tempDir } from '../../helpers/temp-dir';

describe('models/clip/vision-model (clip-vision-tiny)', function () {
  const dir = fixture('clip-vision-tiny');
  if (!dir) return;

  it('should pass every clip-vision-tiny case (model and preprocessing), without leaks', async () => {
    const report = await runFixture(dir, runner);
    assert.strictEqual(report.failed, 0, failures(report));
    assert.ok(report.passed >= 5);
  });

  it('should take every weight and reject a wrong input size', async () => {
    const m = loadCLIPVisionModel(dir, { warn: (w) => assert.fail(w) });
    try {
      assert.deepStrictEqual(m.store.unusedKeys(), []);
      await expectNoLeak(() => {
        const x = tf.zeros([1, 32, 32, 3]) as tf.Tensor4D;
        assert.throws(() => m.forward(x), /must be NHWC \[B, 64, 64, 3\], found \[1,32,32,3\]/);
        x.dispose();
      });
    } finally {
      m.dispose();
    }
  });
});

describe('models/clip/loader (full CLIPModel layout)', function () {
  const textDir = fixture('clip-text-tiny');
  const visionDir = fixture('clip-vision-tiny');
  if (!textDir || !visionDir) return;
  let tmp: string;

  before(() => {
    // A full CLIP checkpoint assembled from the two tiny towers, plus text_projection and logit_scale.
    tmp = tempDir('detex-clip-full-');
    const tensors = new Map<string, HostTensor>();
    for (const d of [textDir, visionDir]) for (const [k, v] of readSafetensors(path.join(d, 'model.safetensors')).tensors) tensors.set(k, v);
    const proj = new Float32Array(24 * 32).map((_, i) => Math.sin(i));
    tensors.set('text_projection.weight', hostTensor('float32', [24, 32], proj));
    tensors.set('logit_scale', hostTensor('float32', [], Float32Array.of(Math.log(100))));
    writeSafetensors(path.join(tmp, 'model.safetensors'), tensors, { format: 'pt' });
    const text = JSON.parse(fs.readFileSync(path.join(textDir, 'config.json'), 'utf8'));
    const vision = JSON.parse(fs.readFileSync(path.join(visionDir, 'config.json'), 'utf8'));
    fs.writeFileSync(path.join(tmp, 'config.json'), JSON.stringify({ architectures: ['CLIPModel'], model_type: 'clip', projection_dim: 24, text_config: text, vision_config: vision }));
  });
  after(() => removeTempDir(tmp));

  it('should build both towers with projections and logit_scale, matching the split towers', async () => {
    const r = SafetensorsReader.open(path.join(visionDir, 'cases', 'random_pixels.safetensors'));
    const pv = r.read('pixel_values');
    const expected = r.read('image_embeds');
    r.close();
    await expectNoLeak(() => {
      const clip = loadCLIPModel(tmp, { warn: (w) => assert.fail(w) });
      try {
        assert.ok(Math.abs(clip.logitScale - 100) < 1e-3);
        const x = tf.tidy(() => tf.transpose(toTf(pv), [0, 2, 3, 1]) as tf.Tensor4D);
        const v = clip.vision.forward(x);
        const got = fromTfSync(v.imageEmbeds!);
        let err = 0;
        got.data.forEach((a, i) => (err = Math.max(err, Math.abs(a - expected.data[i]))));
        assert.ok(err < 1e-5, `image_embeds err ${err}`);
        disposeVisionOutput(v);
        x.dispose();
        const t = clip.text.forward([[49406, 320, 1929, 49407]]);
        assert.deepStrictEqual(t.textEmbeds!.shape, [1, 24]);
        disposeTextOutput(t);
      } finally {
        clip.dispose();
      }
    });
  });

  it('should load one tower from the full checkpoint without warnings about the other', () => {
    const t = loadCLIPTextModel(tmp, { warn: (w) => assert.fail(w) });
    const v = loadCLIPVisionModel(tmp, { warn: (w) => assert.fail(w) });
    t.dispose();
    v.dispose();
  });

  it('should refuse a folder of another model type', () => {
    assert.throws(() => loadCLIPVisionModel(textDir, { warn: () => {} }), /holds a "clip_text_model" model, not a CLIP vision model/);
  });
});
