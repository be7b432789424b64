import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { resolveDetexConfig, DetexConfig, DetexConfigInput } from '../../lib/detex/config';
import { DetexTrainer } from '../../lib/detex/trainer';
import { saveCheckpoint, loadCheckpoint, runKey } from '../../lib/detex/checkpoint';
import { applyConcept, conceptFromTrainer, loadConcept, saveConcept } from '../../lib/detex/concept';
import { composePrompt, batchSubstitutions } from '../../lib/detex/composer';
import { EmbeddingSubstitution } from '../../lib/detex/types';
import { expectNoLeak } from '../helpers/leak';
import { loadTiny, squares, tinyAvailable, TinyModels } from './tiny-models';
import { removeTempDir, tempDir } from '../helpers/temp-dir';

function classImages(n: number): tf.Tensor4D {
  return tf.tidy(() => tf.div(tf.mod(tf.reshape(tf.range(0, n * 64 * 64 * 3), [n, 64, 64, 3]), 97), 97) as tf.Tensor4D);
}

/** Every parameter of a store, as bytes. */
function dump(names: string[], get: (n: string) => tf.Tensor): Map<string, Buffer> {
  return new Map(names.map((n) => [n, Buffer.from((get(n).dataSync() as Float32Array).slice().buffer)]));
}

describe('detex/trainer on the tiny fixtures', function () {
  this.timeout(600000);
  let m: TinyModels;
  let cls: tf.Tensor4D;
  const tmp = tempDir('detex-trainer-');
  before(async function () {
    if (!tinyAvailable()) this.skip();
    m = await loadTiny();
    cls = classImages(2);
  });
  after(() => {
    m?.dispose();
    cls?.dispose();
    removeTempDir(tmp);
  });

  const cfg = (o: Partial<DetexConfigInput> = {}) =>
    resolveDetexConfig({ classWord: 'dog', initWord: 'dog', batchSize: 2, microBatch: 2, steps: 2, learningRate: 1e-3, seed: 3, ...o });
  const make = (o: Partial<DetexConfigInput> = {}, n = 2) =>
    new DetexTrainer(m, { config: cfg(o), items: squares(n), classImages: cls, warn: () => undefined });

  it('should give finite terms with total = L_LDM + λ_pr·L_pr + λ_CA·L_CA (eq. 5), and leak nothing', async () => {
    await expectNoLeak(async () => {
      const tr = make({ lambdaCA: 0.5, lambdaPr: 0.7 });
      try {
        const l = tr.trainStep();
        for (const k of ['total', 'ldm', 'pr', 'ca'] as const) assert.ok(Number.isFinite(l[k]) && l[k] > 0, `${k} = ${l[k]}`);
        assert.ok(Math.abs(l.total - (l.ldm + 0.7 * l.pr + 0.5 * l.ca)) < 1e-5 * l.total);
        assert.strictEqual(tr.step, 1);
      } finally {
        tr.dispose();
      }
    });
  });

  it('should change only [V], the mappers and attn2 to_k/to_v, and restore the base UNet on dispose', async () => {
    const unetNames = m.unet.store.names();
    const textNames = m.text.store.names();
    const unet0 = dump(unetNames, (n) => m.unet.store.tensor(n));
    const text0 = dump(textNames, (n) => m.text.store.tensor(n));
    const tr = make();
    const mapper0 = dump(tr.mapperP!.names(), (n) => tr.mapperP!.store.tensor(n));
    const v0 = tr.subjectEmbedding().slice();
    tr.trainStep();
    for (const n of unetNames) {
      const same = unet0.get(n)!.equals(Buffer.from((m.unet.store.tensor(n).dataSync() as Float32Array).slice().buffer));
      assert.strictEqual(same, !/attn2\.to_(k|v)\.weight$/.test(n), `${n} ${same ? 'unchanged' : 'changed'}`);
    }
    for (const n of textNames) assert.ok(text0.get(n)!.equals(Buffer.from((m.text.store.tensor(n).dataSync() as Float32Array).slice().buffer)), n);
    for (const n of tr.mapperP!.names()) assert.ok(!mapper0.get(n)!.equals(Buffer.from((tr.mapperP!.store.tensor(n).dataSync() as Float32Array).slice().buffer)), `mapper ${n} unchanged`);
    assert.notDeepStrictEqual(tr.subjectEmbedding(), v0);
    tr.dispose();
    for (const n of unetNames) assert.ok(unet0.get(n)!.equals(Buffer.from((m.unet.store.tensor(n).dataSync() as Float32Array).slice().buffer)), `${n} not restored`);
  });

  it("should move [V], the mappers and K/V each by its own learning rate, and keep [P_i]/[B_i] at [V]'s initial norm", () => {
    const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((mx, x, i) => Math.max(mx, Math.abs(x - b[i])), 0);
    const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    const kvName = m.unet.store.names().find((n) => /attn2\.to_k\.weight$/.test(n))!;
    const kv0 = m.unet.store.tensor(kvName).dataSync().slice() as Float32Array;
    const tr = make({ learningRate: 1e-4, embeddingLearningRate: 1e-2, mapperLearningRate: 1e-3 });
    try {
      const v0 = tr.subjectEmbedding().slice();
      const mapName = tr.mapperP!.names()[0];
      const map0 = tr.mapperP!.store.tensor(mapName).dataSync().slice() as Float32Array;
      const attrs = tr.attributeEmbeddings();
      [...attrs.pose, ...attrs.background].forEach((r) => assert.ok(Math.abs(norm(r) - norm(v0)) < 1e-5, `mapper output norm ${norm(r)} vs [V] ${norm(v0)}`));
      tr.trainStep();
      // Adam's first step moves every parameter with a gradient by lr (weight decay adds lr·λ·|θ|, negligible here)
      const moved = [maxDiff(tr.subjectEmbedding(), v0), maxDiff(tr.mapperP!.store.tensor(mapName).dataSync() as Float32Array, map0), maxDiff(m.unet.store.tensor(kvName).dataSync() as Float32Array, kv0)];
      [1e-2, 1e-3, 1e-4].forEach((lr, i) => assert.ok(moved[i] > 0.9 * lr && moved[i] < 1.01 * lr, `group ${i}: moved ${moved[i]}, lr ${lr}`));
    } finally {
      tr.dispose();
    }
    const free = make({ mapperOutput: 'free' });
    try {
      const attrs = free.attributeEmbeddings();
      assert.ok(attrs.pose.some((r) => Math.abs(norm(r) - norm(free.subjectEmbedding())) > 1e-3), "'free' leaves the MLP's output scale alone");
    } finally {
      free.dispose();
    }
  });

  it('should substitute [V], [P_i], [B_i] at their token positions in the text encoder', () => {
    const seen: Array<Array<{ batch: number; position: number; vector: number[] }>> = [];
    const ids: number[][][] = [];
    const spy = { ...m.textEncoder, encode: (i: readonly (readonly number[])[], s: readonly EmbeddingSubstitution[]) => (ids.push(i.map((r) => r.slice())), seen.push(s.map((x) => ({ batch: x.batch, position: x.position, vector: Array.from(x.vector.dataSync()) }))), m.textEncoder.encode(i, s)) };
    const tr = new DetexTrainer({ ...m, textEncoder: spy }, { config: cfg({ gamma: 0 }), items: squares(2), classImages: cls, warn: () => undefined });
    try {
      tr.evaluate(1);
      const tk = m.tokenizer;
      const subs = seen[0];
      const tokenAt = (s: { batch: number; position: number }) => tk.idToToken(ids[0][s.batch][s.position]);
      // two instance rows, each with [V], [P_i], [B_i]; class rows get none
      assert.strictEqual(subs.length, 6);
      assert.ok(subs.every((s) => s.batch < 2));
      for (const b of [0, 1]) {
        const toks = subs.filter((s) => s.batch === b).map(tokenAt);
        assert.strictEqual(toks[0], '<new1>');
        assert.match(toks[1], /^<new1:p[12]>$/);
        assert.match(toks[2], /^<new1:b[12]>$/);
      }
      // the [P_i] vector is M^P(E_I(x_i))
      const pose = tr.attributeEmbeddings().pose;
      const sp = subs.find((s) => /:p/.test(tokenAt(s)))!;
      const i = Number(/p(\d)/.exec(tokenAt(sp))![1]) - 1;
      assert.deepStrictEqual(sp.vector, Array.from(pose[i]));
    } finally {
      tr.dispose();
    }
  });

  it('should resume from a checkpoint bit-exactly as the uninterrupted run', () => {
    const a = make({}, 2);
    a.trainStep();
    a.trainStep();
    const want = a.snapshot();
    a.dispose();
    const b = make({}, 2);
    b.trainStep();
    const ck = path.join(tmp, 'ck.safetensors');
    saveCheckpoint(ck, b);
    b.dispose(); // as if killed
    const c = make({}, 2);
    assert.strictEqual(loadCheckpoint(ck, c), 1);
    c.trainStep();
    const got = c.snapshot();
    c.dispose();
    for (const part of ['values', 'm', 'v'] as const) {
      for (const [k, h] of want[part]) {
        assert.ok(Buffer.from((h.data as Float32Array).buffer).equals(Buffer.from((got[part].get(k)!.data as Float32Array).buffer)), `${part} ${k}`);
      }
    }
    assert.throws(() => loadCheckpoint(ck, make({ seed: 4 })), /other hyper-parameters/);
    assert.throws(() => loadCheckpoint(ck, make({ initCandidates: ['red', 'blue'] })), /other hyper-parameters/);
    // a checkpoint of a version before initCandidates has no such field: with none given, the key is the same
    const before = { ...cfg() } as Partial<DetexConfig>;
    delete before.initCandidates;
    assert.strictEqual(runKey(before as DetexConfig), runKey(cfg()));
    assert.notStrictEqual(runKey(cfg({ initCandidates: ['red'] })), runKey(cfg()));
  });

  it('should round-trip the concept file, reproduce the trained outputs, and refuse another base model', () => {
    const tr = make();
    tr.trainStep();
    const concept = conceptFromTrainer(tr);
    // the trained model's output for a composed prompt, before the trainer puts the base back
    const z = tf.randomNormal([1, 8, 8, 4], 0, 1, 'float32', 1) as tf.Tensor4D;
    const encodeWith = (voc: ReturnType<typeof applyConcept>['vocabulary']) => {
      const p = composePrompt('a {{V}} {{class}} with {{P.2}} {{attribute}} in {{B.1}} background', m.tokenizer, voc);
      const subs = batchSubstitutions([p]);
      const e = m.textEncoder.encode([p.inputIds], subs);
      subs.forEach((s) => s.vector.dispose());
      const out = m.unet.forward(z, [500], e);
      e.dispose();
      const d = out.dataSync().slice();
      out.dispose();
      return d;
    };
    const file = path.join(tmp, 'c.safetensors');
    saveConcept(file, concept);
    const loaded = loadConcept(file);
    assert.deepStrictEqual(loaded.meta, JSON.parse(JSON.stringify(concept.meta)));
    assert.deepStrictEqual(Array.from(loaded.subject), Array.from(concept.subject));
    assert.strictEqual(loaded.kv.size, concept.kv.size);
    assert.strictEqual(loaded.mappers.size, 12);
    const { conceptVocabulary } = require('../../lib/detex/concept') as typeof import('../../lib/detex/concept');
    const trained = encodeWith(conceptVocabulary(concept));
    tr.dispose(); // base weights back
    const applied = applyConcept(m, loaded);
    const again = encodeWith(applied.vocabulary);
    assert.deepStrictEqual(Array.from(again), Array.from(trained));
    assert.throws(() => applyConcept(m, loaded), /already carries/);
    applied.remove();
    // another base: perturb one K weight
    const name = [...loaded.kv.keys()][0];
    const orig = m.unet.store.tensor(name).clone();
    m.unet.store.set(name, tf.add(orig, 1e-3));
    assert.throws(() => applyConcept(m, loaded), /trained on base model/);
    m.unet.store.set(name, orig);
    z.dispose();
  });

  it('should lower the training loss on a small learnable case', () => {
    const tr = make({ lambdaPr: 0, gamma: 0, learningRate: 5e-3, batchSize: 2, microBatch: 1 }, 2);
    const evalAt = () => [1, 2, 3].reduce((s, k) => s + tr.evaluate(k).total, 0);
    try {
      const before = evalAt();
      for (let i = 0; i < 8; i++) tr.trainStep();
      const after = evalAt();
      assert.ok(after < before, `loss ${before} → ${after}`);
    } finally {
      tr.dispose();
    }
  });

  it('should run the Custom Diffusion baseline and the w/o-mappers ablation from the same code', () => {
    for (const preset of ['custom-diffusion', 'no-mappers'] as const) {
      const tr = make({ preset });
      try {
        const l = tr.trainStep();
        assert.ok(Number.isFinite(l.total));
        if (preset === 'custom-diffusion') assert.strictEqual(l.ca, 0);
      } finally {
        tr.dispose();
      }
    }
  });

  it('should stop on an aborted signal and free its memory', async () => {
    await expectNoLeak(async () => {
      const tr = make({ steps: 50 });
      const ac = new AbortController();
      const r = await tr.run({ signal: ac.signal, onProgress: (p) => p.step === 1 && ac.abort() });
      tr.dispose();
      assert.deepStrictEqual([r.cancelled, r.step], [true, 1]);
    });
  });
});
