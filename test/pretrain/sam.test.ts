import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../lib/random';
import { worldBatch } from '../../lib/pretrain/world-data';
import { promptFor } from '../../lib/pretrain/sam-data';
import { MiniSam, diceLoss, focalLoss, maskIoU, sceneImages, sceneMasks } from '../../lib/pretrain/sam-model';
import { samMeanIoU } from '../../lib/pretrain/sam-eval';
import { expectNoLeak } from '../helpers/leak';

describe('pretrain sam', function () {
  this.timeout(120000);

  it('should compute focal and dice losses as by hand', () => {
    tf.tidy(() => {
      const l = tf.tensor4d([2, -1], [1, 1, 2, 1]);
      const t = tf.tensor4d([1, 1], [1, 1, 2, 1]);
      const sig = (x: number) => 1 / (1 + Math.exp(-x));
      const f = (x: number) => 0.25 * -Math.log(sig(x)) * (1 - sig(x)) ** 2;
      assert.ok(Math.abs(focalLoss(l, t).dataSync()[0] - (f(2) + f(-1)) / 2) < 1e-6);
      const d = 1 - (2 * (sig(2) + sig(-1)) + 1) / (sig(2) + sig(-1) + 2 + 1);
      assert.ok(Math.abs(diceLoss(l, t).dataSync()[0] - d) < 1e-6);
    });
  });

  it('should measure IoU of thresholded logits', () => {
    // 2×2 image, one mask: predicted {0,1}, truth {1,2} → 1/3
    const iou = maskIoU(Float32Array.from([1, 1, -1, -1]), Float32Array.from([0, 1, 1, 0]), [1, 2, 2, 1]);
    assert.ok(Math.abs(iou[0] - 1 / 3) < 1e-6);
  });

  it('should put positive points on the subject, negative points off it, boxes around it', () => {
    const { scenes } = worldBatch(new Rng(2), { batch: 8, size: 64 });
    const rng = new Rng(5);
    for (const s of scenes) {
      const m = s.mask.data as Uint8Array;
      const at = ([x, y]: [number, number]) => m[y * 64 + x];
      const p2 = promptFor(s, 'points2', rng);
      assert.strictEqual(at(p2.points[0]), 1);
      assert.strictEqual(at(p2.points[1]), 0);
      const b = promptFor(s, 'box', rng).box!;
      assert.ok(Math.abs(b[0] - s.box[0]) <= 0.05 * (s.box[2] - s.box[0]) + 1e-9);
      assert.ok(b[2] > b[0] && b[3] > b[1]);
    }
  });

  it('should train every parameter but the fixed Fourier matrix (N(0,1)), leak-free', async () => {
    const model = new MiniSam(3);
    try {
      const g = model.sam.store.tensor('prompt_encoder.pe_layer.positional_encoding_gaussian_matrix');
      const std = Math.sqrt(tf.tidy(() => tf.mean(tf.square(g))).dataSync()[0]);
      assert.ok(std > 0.6 && std < 1.5, `std ${std}`);
      assert.ok(!model.vars.has('prompt_encoder.pe_layer.positional_encoding_gaussian_matrix'));
      const { scenes } = worldBatch(new Rng(1), { batch: 3, size: 64 });
      const rng = new Rng(1);
      await expectNoLeak(() => {
        const { value, grads } = tf.variableGrads(() => {
          const emb = model.embed(sceneImages(scenes));
          const truth = sceneMasks(scenes);
          const a = model.groupLoss(tf.slice(emb, [0, 0, 0, 0], [2, -1, -1, -1]), scenes.slice(0, 2).map((s) => promptFor(s, 'point', rng)), tf.slice(truth, [0, 0, 0, 0], [2, -1, -1, -1]));
          const b = model.groupLoss(tf.slice(emb, [2, 0, 0, 0], [1, -1, -1, -1]), [promptFor(scenes[2], 'box', rng)], tf.slice(truth, [2, 0, 0, 0], [1, -1, -1, -1]));
          return tf.addN([a.mask, a.iou, b.mask, b.iou]) as tf.Scalar;
        }, [...model.vars.values()]);
        assert.ok(Number.isFinite(value.dataSync()[0]));
        const missing = [...model.vars].filter(([, v]) => !grads[v.name]).map(([n]) => n);
        // not_a_point_embed only gets used with point prompts without a box: both groups here use it or boxes.
        assert.deepStrictEqual(missing.filter((n) => !/point_embeddings\.0|mask_downscaling/.test(n)), []);
        value.dispose();
        Object.values(grads).forEach((t) => t.dispose());
      });
      const r = await expectNoLeak(() => samMeanIoU(model, scenes, 1));
      assert.ok(r.point >= 0 && r.point <= 1 && r.box >= 0 && r.box <= 1);
    } finally {
      model.dispose();
    }
  });
});
