/**
 * A small, fast stand-in for lib/ behind the nodes' Engine seam (DETEX_NODES_ENGINE), so node and
 * flow tests check the Node-RED side (msgs, errors, queues, close, child process) in milliseconds.
 * It does real tfjs work so leak checks mean something. FAKE_STEP_MS slows steps down.
 */
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs-core';
import { Engine, EngineModel } from '../../nodes/shared/engine';
import { HostTensor, toTf, fromTfSync } from '../../lib/io/host-tensor';

const stepMs = () => Number(process.env.FAKE_STEP_MS ?? 1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const loads = { count: 0, disposed: 0 };

class FakeModel implements EngineModel {
  weights = tf.ones([4, 8]);
  constructor(readonly folder: string) {}
  dispose(): void {
    this.weights.dispose();
    loads.disposed++;
  }
}

function embed(m: EngineModel, x: tf.Tensor2D): HostTensor {
  const y = tf.matMul(x, (m as FakeModel).weights);
  const h = fromTfSync(y);
  y.dispose();
  return h;
}

export const engine: Engine = {
  name: 'fake',
  async loadModel(folder) {
    if (folder.includes('missing')) throw new Error(`no model_index.json in ${folder}`);
    loads.count++;
    await sleep(5);
    if (!require('../../lib/backend').initBackend) throw new Error('no backend');
    await require('../../lib/backend').initBackend();
    return new FakeModel(folder);
  },
  async samMask(_m, image, prompt) {
    const [H, W] = image.shape;
    const m = new Uint8Array(H * W);
    const [cx, cy] = prompt.points?.[0] ?? [prompt.box?.[0] ?? 0, prompt.box?.[1] ?? 0];
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) m[y * W + x] = Math.abs(x - cx) < W / 4 && Math.abs(y - cy) < H / 4 ? 1 : 0;
    return { dtype: 'uint8', shape: [H, W], data: m };
  },
  async clipImage(m, images) {
    const feats = images.map((im) => {
      const t = toTf(im);
      const v = tf.tidy(() => tf.reshape(tf.concat([tf.mean(tf.cast(t, 'float32'), [0, 1]), tf.zeros([1])]), [1, 4]));
      t.dispose();
      return v;
    });
    const x = tf.concat(feats) as tf.Tensor2D;
    feats.forEach((f) => f.dispose());
    const r = embed(m, x);
    x.dispose();
    return r;
  },
  async clipText(m, texts) {
    const x = tf.tensor2d(texts.map((s) => [s.length, 1, 2, 3]));
    const r = embed(m, x);
    x.dispose();
    return r;
  },
  async mapAttributes(_m, conceptPath, e) {
    JSON.parse(fs.readFileSync(conceptPath, 'utf8'));
    const n = e.shape[0];
    return { pose: { dtype: 'float32', shape: [n, 2], data: new Float32Array(2 * n).fill(1) }, background: { dtype: 'float32', shape: [n, 2], data: new Float32Array(2 * n) } };
  },
  async compose(template, conceptPath, view) {
    const c = JSON.parse(fs.readFileSync(conceptPath, 'utf8')) as { className: string };
    const names: Record<string, string> = { V: '<S*>', class: c.className };
    const prompt = template.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, k: string) => names[k] ?? String(view[k] ?? ''));
    const tokens = prompt.includes('<S*>') ? ['<S*>'] : [];
    return { prompt, plainPrompt: prompt.replace('<S*> ', ''), tokens, inputIds: [], substitutions: tokens.map((token) => ({ position: 1, token, vector: [0, 0] })) };
  },
  async sample(_m, req, hooks) {
    const size = 8;
    for (let s = 1; s <= req.steps; s++) {
      if (hooks.signal?.aborted) throw new Error('cancelled');
      await sleep(stepMs());
      hooks.onProgress?.({ step: s, total: req.steps });
    }
    const img = new Uint8Array(size * size * 3).map((_, i) => (i * 7 + req.seed) % 256);
    const lat = tf.tidy(() => tf.randomNormal([1, 2, 2, 4], 0, 1, 'float32', req.seed));
    const latents = fromTfSync(lat);
    lat.dispose();
    return { image: { dtype: 'uint8', shape: [size, size, 3], data: img }, latents };
  },
  async evaluate(_m, req) {
    const out: Record<string, number> = {};
    for (const k of req.metrics) out[k] = 0.5;
    return out;
  },
  async train(modelFolder, job, hooks) {
    if (job.className === 'crash') process.exit(3);
    for (let s = 1; s <= job.steps; s++) {
      if (hooks.signal?.aborted) throw new Error('cancelled');
      await sleep(stepMs());
      const preview: HostTensor | undefined = job.previewEvery && s % job.previewEvery === 0 ? { dtype: 'uint8', shape: [4, 4, 3], data: new Uint8Array(48).fill(s) } : undefined;
      hooks.onProgress?.({ step: s, total: job.steps, loss: 1 / s, preview });
    }
    fs.writeFileSync(job.conceptPath, JSON.stringify({ className: job.className, images: job.images.length, modelFolder, resume: job.resume, pid: process.pid }));
    return { conceptPath: job.conceptPath };
  },
};
