import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { DetexSession, train, sample, attentionMaps, attentionAlignment } from '../../lib/engine';
import { hostTensor } from '../../lib/io/host-tensor';
import { upsampleMap, panelStrip } from '../../lib/engine/attention-maps';
import { decodeImage } from '../../lib/io/image';
import { subjectPhotos } from '../../lib/world';
import { tinyModelDir } from '../../lib/models/default-model';
import { expectNoLeak } from '../helpers/leak';
import { removeTempDir, tempDir } from '../helpers/temp-dir';

describe('attention maps (engine facade) on detex-tiny', function () {
  this.timeout(600000);
  let session: DetexSession;
  let dir: string;
  let concept: string;
  let scenes: ReturnType<typeof subjectPhotos>;

  before(async () => {
    session = await DetexSession.open(tinyModelDir()); // speed, not a trained model
    dir = tempDir('detex-attn-');
    concept = path.join(dir, 'c.safetensors');
    const sd = await session.sd();
    const size = (sd.unet.config.raw.sample_size as number) * sd.vae.scaleFactor;
    scenes = subjectPhotos('cup-blue-dots-white-loop', 2, 0, { size });
    await train(session, {
      images: scenes.map((s) => s.image), masks: scenes.map((s) => s.mask), className: 'cup', conceptPath: concept, steps: 1, seed: 0,
      options: { batchSize: 2, lambdaPr: 0, attributeWord: 'pose' },
    });
  });

  after(async () => {
    await session?.dispose();
    removeTempDir(dir);
  });

  const prompt = 'a photo of a {{V}} {{class}} with {{P.1}} pose in {{B.2}} background';

  it('should give one panel per requested token, maps from the sampling passes that sum to 1 over all tokens, and free every tensor', async () => {
    const r = await expectNoLeak(() => attentionMaps(session, { prompt, conceptPath: concept, tokens: ['V', 'P.1', 'B.2'], steps: 3, seed: 5, panelSize: 40 }));
    assert.deepStrictEqual(r.tokens.map((t) => t.label), ['V', 'P.1', 'B.2']);
    assert.deepStrictEqual(r.tokens.map((t) => t.token), ['<new1>', '<new1:p1>', '<new1:b2>']);
    // the PNG: 3 panels of 40 px, 4 px apart
    const png = await decodeImage(r.png);
    assert.strictEqual(png.height, 40);
    assert.strictEqual(png.width, 3 * 40 + 2 * 4);
    // raw maps: every pixel's probabilities over the 77 tokens sum to 1 (the softmax of one pass, averaged)
    const [h, w, nk] = r.all.shape;
    assert.strictEqual(nk, 77);
    assert.deepStrictEqual([h, w], r.resolution);
    const all = r.all.data as Float32Array;
    for (let i = 0; i < h * w; i++) {
      let s = 0;
      for (let k = 0; k < nk; k++) s += all[i * nk + k];
      assert.ok(Math.abs(s - 1) < 1e-4, `pixel ${i}: token probabilities sum to ${s}`);
    }
    // a token's map is its column of the raw maps
    for (const t of r.tokens) {
      for (let i = 0; i < h * w; i++) assert.strictEqual((t.map.data as Float32Array)[i], all[i * nk + t.position]);
      assert.ok(t.max > 0 && t.max <= 1);
    }
    // 3 steps × (layers at that resolution) × 1 conditional image
    assert.strictEqual(r.passes, 3 * r.layers.length);
    // the maps come from the very run that made the image: the same request through sample() gives the same image,
    // up to float rounding (on cpu+native, capturing runs the unfused attention and sample() the fused kernel)
    const s = await sample(session, { prompt, conceptPath: concept, steps: 3, seed: 5 });
    const a = r.image.data as Uint8Array;
    const b = s.images[0].data as Uint8Array;
    assert.strictEqual(a.length, b.length);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    assert.ok(worst <= 1, `the image differs from sample()'s by ${worst}/255`);
  });

  it('should default to the prompt\'s pseudo-words in prompt order, and name a token that is not in the prompt', async () => {
    const r = await attentionMaps(session, { prompt, conceptPath: concept, steps: 1, seed: 0 });
    assert.deepStrictEqual(r.tokens.map((t) => t.label), ['V', 'P.1', 'B.2']);
    const words = await attentionMaps(session, { prompt, conceptPath: concept, steps: 1, seed: 0, tokens: ['cup', 'B.2'] });
    assert.deepStrictEqual(words.tokens.map((t) => t.label), ['cup', 'B.2']);
    await assert.rejects(attentionMaps(session, { prompt, conceptPath: concept, steps: 1, tokens: ['snow'] }), /"snow" is not in the prompt/);
    await assert.rejects(attentionMaps(session, { prompt, conceptPath: concept, steps: 1, tokens: ['P.9'] }), /no token P\.9/);
  });

  it('should score how much of [P_i]/[B_i]\'s attention falls on/off photo i\'s subject, and free every tensor', async () => {
    const images = scenes.map((x) => x.image);
    const masks = scenes.map((x) => x.mask);
    const r = await expectNoLeak(() => attentionAlignment(session, { conceptPath: concept, images, masks, timesteps: [300, 700] }));
    assert.strictEqual(r.photos.length, 2);
    for (const p of r.photos) {
      for (const v of [p.poseOnSubject, p.backgroundOffSubject, p.subjectArea]) assert.ok(v > 0 && v < 1, JSON.stringify(p));
    }
    assert.ok(Math.abs(r.poseOnSubject - (r.photos[0].poseOnSubject + r.photos[1].poseOnSubject) / 2) < 1e-9);
    // the shares are of the maps' mass: an all-subject mask puts all of [P] on the subject and none of [B] off it
    const full = scenes.map((x) => hostTensor('uint8', [x.mask.shape[0], x.mask.shape[1]], new Uint8Array(x.mask.shape[0] * x.mask.shape[1]).fill(1)));
    const f = await attentionAlignment(session, { conceptPath: concept, images, masks: full, timesteps: [500] });
    assert.ok(Math.abs(f.poseOnSubject - 1) < 1e-5 && Math.abs(f.backgroundOffSubject) < 1e-6 && Math.abs(f.subjectArea - 1) < 1e-6, JSON.stringify(f.photos));
    // same seed, same scores; a mask per photo is required
    const again = await attentionAlignment(session, { conceptPath: concept, images, masks, timesteps: [300, 700] });
    assert.strictEqual(again.poseOnSubject, r.poseOnSubject);
    await assert.rejects(attentionAlignment(session, { conceptPath: concept, images, masks: masks.slice(1) }), /one mask per photo, got 2 photos and 1 masks/);
    await assert.rejects(attentionAlignment(session, { conceptPath: concept, images, masks, timesteps: [1000] }), /timesteps must be integers in \[0, 1000\)/);
  });

  it('should upsample a constant map to the constant and lay panels side by side', () => {
    const up = upsampleMap(new Float32Array(4).fill(0.25), 2, 2, 5, 5);
    assert.ok(up.every((v) => Math.abs(v - 0.25) < 1e-7));
    const strip = panelStrip([new Uint8Array(2 * 2 * 3).fill(10), new Uint8Array(2 * 2 * 3).fill(20)], 2);
    assert.deepStrictEqual(strip.shape, [2, 8, 3]);
    assert.strictEqual(strip.data[0], 10);
    assert.strictEqual(strip.data[3 * 6], 20);
    assert.strictEqual(strip.data[3 * 3], 255, 'the gap is white');
    assert.strictEqual(tf.memory().numTensors >= 0, true);
  });
});
