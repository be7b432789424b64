/** The plain-data engine facade on the embedded tiny model: real models, small sizes, leak-checked. */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { DetexSession, samMask, clipImage, clipText, mapAttributes, compose, sample, train, evaluate, plainPrompt } from '../../lib/engine';
import { checkpointPathFor } from '../../lib/engine/train';
import { loadConcept, baseModelIdentity } from '../../lib/detex/concept';
import { resolveDetexConfig } from '../../lib/detex/config';
import { CLIPTokenizer } from '../../lib/models/clip/tokenizer';
import { tinyModelDir } from '../../lib/models/default-model';
import { expectNoLeak } from '../helpers/leak';
import { fixture } from '../helpers/fixtures';
import { disc } from './discs';
import { removeTempDir, tempDir } from '../helpers/temp-dir';

describe('engine facade (embedded detex-tiny)', function () {
  this.timeout(120000);
  let s: DetexSession;
  let dir: string;
  let conceptPath: string;
  const data = [disc(0), disc(1)];
  const warnings: string[] = [];

  before(async () => {
    dir = tempDir('detex-engine-');
    s = await DetexSession.open(tinyModelDir(), { warn: (m) => warnings.push(m) }); // speed, not a trained model
  });
  after(async () => {
    await s?.dispose();
    if (dir) removeTempDir(dir);
  });

  it('should default to an initialiser word that is one token of the CLIP vocabulary', () => {
    const tok = CLIPTokenizer.fromFolder(path.join(tinyModelDir(), 'tokenizer'));
    assert.strictEqual(tok.tokenize(resolveDetexConfig({ classWord: 'ball' }).initWord).length, 1);
  });

  it('should segment with SAM alone (no UNet loaded) and pick the best mask, leaking nothing', async () => {
    const img = data[0].image;
    await samMask(s, img, { points: [[32, 32]] }); // loads SAM
    assert.deepStrictEqual(s.loaded(), ['sam']);
    const r = await expectNoLeak(() => samMask(s, img, { points: [[32, 32], [5, 5]], labels: [1, 0], box: [10, 10, 54, 54] }));
    assert.deepStrictEqual(r.mask.shape, [64, 64]);
    assert.ok(r.mask.data.every((v) => v === 0 || v === 1));
    assert.ok(Number.isFinite(r.score));
    await assert.rejects(samMask(s, img, {}), /points or a box/);
  });

  it('should embed images of any size with CLIP and say why text needs a projection', async () => {
    await clipImage(s, [data[0].image]);
    const e = await expectNoLeak(() => clipImage(s, [data[0].image, disc(1, 40).image]));
    assert.deepStrictEqual(e.shape, [2, 32]);
    assert.ok(e.data.some((v) => v !== 0));
    await assert.rejects(clipText(s, ['a ball']), /text projection.*full CLIP model folder/s);
  });

  it('should train 2 steps into a concept with a checkpoint beside it, then resume to 3', async () => {
    conceptPath = path.join(dir, 'ball.safetensors');
    const job = { images: data.map((d) => d.image), masks: data.map((d) => d.mask), className: 'ball', conceptPath, steps: 2, seed: 1, classImageSteps: 2, options: { batchSize: 1, microBatch: 1, numClassImages: 2 } };
    const first = await train(s, job); // loads the models and makes the class images
    assert.strictEqual(first.steps, 2);
    assert.deepStrictEqual(warnings.filter((w) => /mask/.test(w)), [], 'the 0/1 masks reach the trainer as subject masks');
    await s.sd();
    await s.imageEncoder();
    const seen: number[] = [];
    const r = await expectNoLeak(() => train(s, { ...job, steps: 3, resume: true }, { onProgress: (p) => seen.push(p.step) }));
    assert.deepStrictEqual([r.resumedAt, r.steps, seen], [2, 3, [3]]);
    assert.ok(fs.existsSync(checkpointPathFor(conceptPath)));
    const c = loadConcept(conceptPath);
    assert.deepStrictEqual([c.meta.steps, c.meta.classWord, c.pose.length], [3, 'ball', 2]);
  });

  it('should leave the shared UNet as it was after training and cancel with a checkpoint', async () => {
    const sd = await s.sd();
    const before = baseModelIdentity(sd.unet, sd.textEncoder);
    const ac = new AbortController();
    const p = path.join(dir, 'cancel.safetensors');
    await assert.rejects(
      train(s, { images: data.map((d) => d.image), masks: data.map((d) => d.mask), className: 'ball', conceptPath: p, steps: 50, classImageSteps: 2, options: { batchSize: 1, microBatch: 1, numClassImages: 2 } }, { signal: ac.signal, onProgress: () => ac.abort() }),
      (e: Error) => e.name === 'AbortError' && /at step 1\/50/.test(e.message),
    );
    assert.ok(fs.existsSync(checkpointPathFor(p)) && !fs.existsSync(p));
    assert.strictEqual(baseModelIdentity(sd.unet, sd.textEncoder), before);
  });

  it('should map the training images to the concept stored [P_i]/[B_i] embeddings', async () => {
    const emb = await clipImage(s, data.map((d) => d.image));
    const r = await expectNoLeak(() => mapAttributes(s, conceptPath, emb));
    const c = loadConcept(conceptPath);
    assert.deepStrictEqual(r.pose.shape, [2, 32]);
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 32; j++) {
        assert.ok(Math.abs((r.pose.data[i * 32 + j] as number) - c.pose[i][j]) < 1e-4, `pose ${i},${j}`);
        assert.ok(Math.abs((r.background.data[i * 32 + j] as number) - c.background[i][j]) < 1e-4, `background ${i},${j}`);
      }
    }
  });

  it('should compose with the concept and a view into plain arrays', async () => {
    const r = await expectNoLeak(() => compose(s, 'a {{V}} {{class}} with {{P.2}} {{attribute}} at the {{place}}', conceptPath, { place: 'beach' }));
    assert.strictEqual(r.prompt, 'a <new1> ball with <new1:p2> view at the beach');
    assert.strictEqual(r.plainPrompt, 'a ball with view at the beach');
    assert.deepStrictEqual(r.tokens, ['<new1>', '<new1:p2>']);
    assert.deepStrictEqual(r.substitutions.map((x) => x.position), [2, 5]);
    const c = loadConcept(conceptPath);
    assert.deepStrictEqual(r.substitutions[1].vector, Array.from(c.pose[1]));
    assert.deepStrictEqual(JSON.parse(JSON.stringify(r)), r);
    await assert.rejects(compose(s, 'a {{W}}', conceptPath), /unknown placeholder/);
  });

  it('should sample with a concept applied for the call only, deterministically, leaking nothing', async () => {
    const sd = await s.sd();
    const base = baseModelIdentity(sd.unet, sd.textEncoder);
    const req = { prompt: 'a {{V}} {{class}} in {{B.1}} background', conceptPath, steps: 2, guidance: 6, seed: 7, count: 2 };
    const a = await expectNoLeak(() => sample(s, req));
    assert.strictEqual(a.images.length, 2);
    assert.deepStrictEqual([a.images[0].shape, a.latents.shape], [[64, 64, 3], [2, 8, 8, 4]]);
    assert.strictEqual(baseModelIdentity(sd.unet, sd.textEncoder), base);
    // the same request again gives the same pixels; concurrent calls with and without the concept both run
    const [b, plain] = await Promise.all([sample(s, req), sample(s, { prompt: 'a ball', steps: 2, seed: 7, count: 1 })]);
    assert.deepStrictEqual(b.images[0].data, a.images[0].data);
    assert.notDeepStrictEqual(plain.images[0].data, a.images[0].data);
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(sample(s, { ...req, prompt: 'a ball' }, { signal: ac.signal }), (e: Error) => e.name === 'AbortError');
  });

  it('should score CLIP-I (identical images = 1), CLIP-I(FG), DINO-I, and refuse CLIP-T without a projection', async () => {
    const imgs = data.map((d) => d.image);
    const masks = data.map((d) => d.mask);
    const sc = await expectNoLeak(() => evaluate(s, { images: [imgs[0]], references: [imgs[0]], referenceMasks: [masks[0]], metrics: ['clip-i', 'clip-i-fg'] }));
    assert.ok(Math.abs(sc['clip-i']! - 1) < 1e-5);
    assert.ok(sc['clip-i-fg']! < 0.99999 && sc['clip-i-fg']! > -1);
    await assert.rejects(evaluate(s, { images: imgs, prompt: 'a <new1> ball', metrics: ['clip-t'] }), /text projection/);
    await assert.rejects(evaluate(s, { images: imgs, references: imgs, metrics: ['clip-i-fg'] }), /one mask per reference/);
    assert.strictEqual(plainPrompt('a <new1> ball with <new1:p1> pose'), 'a ball with pose');
    const dino = fixture('dino-vits-tiny');
    if (!dino) return;
    const s2 = await DetexSession.open(tinyModelDir(), { dinoDir: dino, warn: () => undefined });
    try {
      await evaluate(s2, { images: imgs, references: imgs, metrics: ['dino-i'] });
      const d = await expectNoLeak(() => evaluate(s2, { images: imgs, references: imgs, referenceMasks: masks, metrics: ['dino-i', 'dino-i-fg'] }));
      assert.ok(d['dino-i']! > 0 && d['dino-i']! <= 1 + 1e-6);
      assert.ok(Number.isFinite(d['dino-i-fg']));
      assert.deepStrictEqual(s2.loaded(), ['dino']);
    } finally {
      await s2.dispose();
    }
  });
});
