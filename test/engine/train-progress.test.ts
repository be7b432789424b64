/** engine.train: progress (each loss term, elapsed, ETA, previews), cancellation (also during class images), class-image sources. */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { DetexSession, train, StepProgress } from '../../lib/engine';
import { TrainJob } from '../../lib/engine/train';
import { tinyModelDir } from '../../lib/models/default-model';
import { writePng } from '../../lib/io/image';
import { disc } from './discs';
import { removeTempDir, tempDir } from '../helpers/temp-dir';

describe('engine train: progress, cancellation, class images (embedded detex-tiny)', function () {
  this.timeout(120000);
  let s: DetexSession;
  let dir: string;
  const data = [disc(0), disc(1)];
  const job = (o: Partial<TrainJob> = {}): TrainJob => ({
    images: data.map((d) => d.image), masks: data.map((d) => d.mask), className: 'ball', conceptPath: path.join(dir, 'c.safetensors'),
    steps: 2, seed: 1, classImageSteps: 2, options: { batchSize: 1, numClassImages: 2 }, ...o,
  });

  before(async () => {
    dir = tempDir('detex-progress-');
    s = await DetexSession.open(tinyModelDir(), { warn: () => undefined }); // speed, not a trained model
    await s.sd();
    await s.imageEncoder();
  });
  after(async () => {
    await s?.dispose();
    if (dir) removeTempDir(dir);
  });

  it('should report every step with each loss term, elapsed and ETA, class-image progress, and a preview every K steps', async () => {
    const seen: StepProgress[] = [];
    const base = tf.memory().numTensors;
    const r = await train(s, job({ steps: 4, previewEvery: 2 }), { onProgress: (p) => seen.push(p) });
    assert.strictEqual(tf.memory().numTensors, base, 'tensors left behind');
    assert.strictEqual(r.steps, 4);
    const cls = seen.filter((p) => p.phase === 'class-images');
    assert.deepStrictEqual(cls.map((p) => [p.step, p.total]), [[1, 2], [2, 2]]);
    const steps = seen.filter((p) => p.phase === 'train');
    assert.deepStrictEqual(steps.map((p) => p.step), [1, 2, 3, 4]);
    for (const p of steps) {
      const l = p.losses!;
      for (const k of ['total', 'ldm', 'pr', 'ca'] as const) assert.ok(Number.isFinite(l[k]) && l[k] > 0, `step ${p.step} ${k} = ${l[k]}`);
      // L = L_LDM + λ_pr·L_pr + λ_CA·L_CA with the defaults λ_pr = 1, λ_CA = 0.01
      assert.ok(Math.abs(l.total - (l.ldm + l.pr + 0.01 * l.ca)) <= 1e-5 * l.total, JSON.stringify(l));
      assert.strictEqual(p.loss, l.total);
      assert.ok(p.elapsedMs! >= 0 && Number.isFinite(p.etaMs!), `${p.elapsedMs} ${p.etaMs}`);
    }
    assert.ok(steps[3].elapsedMs! >= steps[0].elapsedMs!);
    assert.strictEqual(steps[3].etaMs, 0);
    // ETA = elapsed / done × remaining
    assert.ok(Math.abs(steps[1].etaMs! - steps[1].elapsedMs!) < 1e-6, 'after 2 of 4 steps the ETA equals the time spent');
    const previews = seen.filter((p) => p.phase === 'preview');
    assert.deepStrictEqual(previews.map((p) => p.step), [2, 4]);
    for (const p of previews) {
      assert.deepStrictEqual([p.preview!.dtype, p.preview!.shape], ['uint8', [64, 64, 3]]);
      assert.ok(new Set(p.preview!.data).size > 10, 'a preview is a picture, not a constant');
    }
    // the class images are cached under a key that names their DDIM step count (no per-step-count folder)
    const cache = path.join(dir, '.detex-class-images');
    const files = fs.readdirSync(cache, { recursive: true }).map(String).filter((f) => f.endsWith('.safetensors'));
    assert.strictEqual(files.length, 1);
    assert.match(files[0], /^[0-9a-f]{16}\/ball-n2-r64-ddim2-g6-s0\.safetensors$/);
  });

  it('should stop within seconds when cancelled during class-image generation, leaving no tensors', async () => {
    const ac = new AbortController();
    const base = tf.memory().numTensors;
    let abortedAt = 0;
    const t0 = Date.now();
    await assert.rejects(
      train(s, job({ conceptPath: path.join(dir, 'cls-cancel.safetensors'), options: { batchSize: 1, numClassImages: 40 } }), {
        signal: ac.signal,
        onProgress: (p) => {
          // from a timer, so the abort lands while the next image's DDIM loop runs
          if (p.phase === 'class-images' && p.step === 1) setTimeout(() => ((abortedAt = Date.now()), ac.abort()), 30);
        },
      }),
      (e: Error) => e.name === 'AbortError',
    );
    const latency = Date.now() - abortedAt;
    assert.ok(abortedAt > 0, 'aborted during class-image generation');
    assert.ok(latency < 3000, `stopped ${latency} ms after the abort`);
    assert.strictEqual(tf.memory().numTensors, base, 'tensors left behind');
    assert.ok(!fs.existsSync(path.join(dir, 'cls-cancel.safetensors')) && !fs.existsSync(path.join(dir, 'cls-cancel.ckpt.safetensors')));
    console.log(`      cancelled after ${abortedAt - t0} ms of class-image generation; stopped ${latency} ms later`);
  });

  it('should stop within seconds when cancelled during training, leaving no tensors', async () => {
    const ac = new AbortController();
    const base = tf.memory().numTensors;
    let abortedAt = 0;
    await assert.rejects(
      train(s, job({ steps: 500, conceptPath: path.join(dir, 'tr-cancel.safetensors') }), {
        signal: ac.signal,
        onProgress: (p) => p.phase === 'train' && p.step === 2 && ((abortedAt = Date.now()), ac.abort()),
      }),
      (e: Error) => e.name === 'AbortError' && /at step 2\/500/.test(e.message),
    );
    const latency = Date.now() - abortedAt;
    assert.ok(latency < 3000, `stopped ${latency} ms after the abort`);
    assert.strictEqual(tf.memory().numTensors, base, 'tensors left behind');
  });

  it('should train with a user folder of class images instead of generating them', async () => {
    const cdir = path.join(dir, 'user-class');
    fs.mkdirSync(cdir);
    for (const k of [0, 1, 2]) await writePng(path.join(cdir, `${k}.png`), disc(k - 2, 80).image);
    const out = path.join(dir, 'u', 'c.safetensors');
    const seen: StepProgress[] = [];
    const r = await train(s, job({ conceptPath: out, steps: 1, classImagesDir: cdir }), { onProgress: (p) => seen.push(p) });
    assert.strictEqual(r.steps, 1);
    assert.ok(fs.existsSync(out));
    assert.ok(!seen.some((p) => p.phase === 'class-images'), 'nothing generated');
    assert.ok(!fs.existsSync(path.join(dir, 'u', '.detex-class-images')));
    assert.ok(seen.find((p) => p.phase === 'train')!.losses!.pr > 0, 'L_pr is computed on the user images');
  });
});
