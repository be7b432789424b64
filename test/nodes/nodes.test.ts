import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { helper, load, next, nextError, send, png, tmpUserDir } from './helpers';
import { removeTempDir } from '../helpers/temp-dir';
import { decodeTensorMsg, decodeTensorMsgToHost, tensorJsonReplacer } from '../../lib/tensor-msg';
import { readDetexMetadata } from '../../lib/io/png-metadata';
import { loads } from './fake-engine';
import { loadedModelCount } from '../../nodes/shared/models';

describe('DETEX nodes', function () {
  this.timeout(20000);
  let userDir: string;
  beforeEach(() => {
    userDir = tmpUserDir();
  });
  afterEach(async () => {
    await helper.unload();
    removeTempDir(userDir);
  });

  describe('detex-model', () => {
    it('should load the model once for every node that uses it and free it on close', async () => {
      await load([
        { id: 'a', type: 'clip-encode', model: 'm1', mode: 'text', wires: [['out']] },
        { id: 'b', type: 'clip-encode', model: 'm1', mode: 'text', wires: [['out']] },
        { id: 'out', type: 'helper' },
      ]);
      const before = loads.count;
      const disposedBefore = loads.disposed;
      const got = next('out');
      send('a', { payload: 'a dog' });
      await got;
      const got2 = next('out');
      send('b', { payload: ['a cat', 'a bird'] });
      const m = await got2;
      assert.deepStrictEqual(decodeTensorMsgToHost(m.payload).shape, [2, 8]);
      assert.strictEqual(loads.count - before, 1);
      assert.strictEqual(loadedModelCount(), 1);
      await helper.unload();
      await new Promise((r) => setTimeout(r, 10));
      assert.strictEqual(loads.disposed - disposedBefore, 1);
      assert.strictEqual(loadedModelCount(), 0);
    });

    it('should report a model that fails to load through Catch and keep running', async () => {
      await load([
        { id: 'mm', type: 'detex-model', folder: '/tmp/missing-model' },
        { id: 'a', type: 'clip-encode', model: 'mm', mode: 'text', wires: [['out']] },
        { id: 'out', type: 'helper' },
      ]);
      const err = nextError();
      send('a', { payload: 'x' });
      assert.match(await err, /missing-model/);
    });
  });

  describe('sam-mask', () => {
    it('should turn an image and a point into a mask tensor', async () => {
      await load([{ id: 's', type: 'sam-mask', model: 'm1', wires: [['out']] }, { id: 'out', type: 'helper' }]);
      const got = next('out');
      send('s', { payload: await png(8, 6), points: [[4, 3]] });
      const m = await got;
      const mask = decodeTensorMsgToHost(m.mask);
      assert.deepStrictEqual(mask.shape, [6, 8]);
      assert.ok(Buffer.isBuffer(m.payload));
    });
    it('should take the mask from an alpha channel or a ready mask without the model', async () => {
      await load([{ id: 's', type: 'sam-mask', wires: [['out']] }, { id: 'out', type: 'helper' }]);
      const got = next('out');
      send('s', { payload: [await png(8, 6, true)] });
      const m = await got;
      const masks = m.mask as unknown[];
      const h = decodeTensorMsgToHost(masks[0]);
      assert.strictEqual(h.data[0], 1);
      assert.strictEqual(h.data[7], 0);
      const got2 = next('out');
      send('s', { payload: await png(), mask: { __detexTensor: 1, dtype: 'float32', shape: [2, 2], data: [0, 1, 1, 0] } });
      assert.deepStrictEqual(Array.from(decodeTensorMsgToHost((await got2).mask).data), [0, 1, 1, 0]);
    });
    it('should send each kind of bad input to Catch with a clear error', async () => {
      await load([{ id: 's', type: 'sam-mask', model: 'm1', wires: [['out']] }, { id: 'out', type: 'helper' }]);
      const cases: Array<[Record<string, unknown>, RegExp]> = [
        [{ payload: 42 }, /expected a PNG\/JPEG Buffer/],
        [{ payload: Buffer.from('not an image') }, /not an image/],
        [{}, /holds no images/],
        [{ payload: await png(), points: [[1]] }, /bad prompt: points/],
        [{ payload: await png(), box: 'x' }, /bad prompt: box/],
        [{ payload: '../etc/passwd' }, /contains "\.\."/],
        [{ payload: '/etc/passwd' }, /absolute/],
        [{ payload: await png(), mask: { __detexTensor: 1, dtype: 'float32', shape: [2, 2], data: [1] } }, /needs 4 elements/],
      ];
      for (const [msg, re] of cases) {
        const err = nextError();
        send('s', msg);
        assert.match(await err, re);
      }
    });
  });

  describe('clip-encode', () => {
    it('should give working tensors to two wired nodes, to Catch-free JSON and leak nothing', async () => {
      await load([{ id: 'c', type: 'clip-encode', model: 'm1', wires: [['o1', 'o2']] }, { id: 'o1', type: 'helper' }, { id: 'o2', type: 'helper' }]);
      // warm up (model load), then count tensors
      let g = next('o1');
      const g0 = next('o2');
      send('c', { payload: [await png()] });
      await Promise.all([g, g0]);
      const before = tf.memory().numTensors;
      const g1 = next('o1');
      const g2 = next('o2');
      send('c', { payload: [await png(), await png(4, 4)] });
      const [m1, m2] = await Promise.all([g1, g2]);
      for (const m of [m1, m2]) {
        const t = decodeTensorMsg(m.payload);
        assert.deepStrictEqual(t.shape, [2, 8]);
        t.dispose();
      }
      assert.notStrictEqual((m1.payload as { data: unknown }).data, (m2.payload as { data: unknown }).data);
      const json = JSON.parse(JSON.stringify(m1, tensorJsonReplacer));
      assert.deepStrictEqual(decodeTensorMsgToHost(json.payload).data, decodeTensorMsgToHost(m2.payload).data);
      const plain = JSON.parse(JSON.stringify(m2));
      assert.strictEqual(decodeTensorMsgToHost(plain.payload).data.length, 16);
      assert.strictEqual(tf.memory().numTensors, before);
      g = next('caught');
      send('c', { payload: [{ foo: 1 }] });
      assert.match(String(((await g).error as { message: string }).message), /item 0/);
    });
  });

  describe('detex-train, attribute-mapper, prompt-composer, ddim-sample, image-out, eval', () => {
    async function trainFlow(extra: Record<string, unknown> = {}) {
      await load([
        { id: 't', type: 'detex-train', model: 'm1', steps: 3, previewEvery: 2, wires: [['concept'], ['progress']], ...extra },
        { id: 'concept', type: 'helper' },
        { id: 'progress', type: 'helper' },
        { id: 'pc', type: 'prompt-composer', template: 'a photo of {{V}} {{class}} {{place}}', wires: [['prompt']] },
        { id: 'prompt', type: 'helper' },
        { id: 'am', type: 'attribute-mapper', model: 'm1', wires: [['mapped']] },
        { id: 'mapped', type: 'helper' },
        { id: 'ds', type: 'ddim-sample', model: 'm1', steps: 3, seed: 7, wires: [['img'], ['dprog']] },
        { id: 'img', type: 'helper' },
        { id: 'dprog', type: 'helper' },
        { id: 'io', type: 'detex-image-out', wires: [['saved']] },
        { id: 'saved', type: 'helper' },
        { id: 'ev', type: 'detex-eval', model: 'm1', wires: [['scores']] },
        { id: 'scores', type: 'helper' },
      ]);
    }

    it('should train in a child process, then compose, map, sample and save with metadata', async () => {
      await trainFlow();
      const progress: Array<Record<string, unknown>> = [];
      helper.getNode('progress').on('input', (m: Record<string, unknown>) => progress.push(m));
      const done = next('concept', 15000);
      send('t', { payload: [await png(), await png()], className: 'dog' });
      const c = await done;
      const ref = c.payload as { __detexRef: string; path: string };
      assert.strictEqual(ref.__detexRef, 'concept');
      assert.ok(ref.path.startsWith(fs.realpathSync(userDir)));
      const saved = JSON.parse(fs.readFileSync(ref.path, 'utf8'));
      assert.strictEqual(saved.className, 'dog');
      assert.notStrictEqual(saved.pid, process.pid, 'trained in a child process');
      assert.ok(progress.length >= 3 && progress.some((m) => Buffer.isBuffer(m.preview)));

      const p = next('prompt');
      send('pc', { payload: { place: 'on the beach' }, concept: c.concept });
      const pm = await p;
      assert.strictEqual(pm.payload, 'a photo of <S*> dog on the beach');
      assert.deepStrictEqual(pm.substitutions, [{ position: 1, token: '<S*>', vector: [0, 0] }]);

      const mp = next('mapped');
      send('am', { payload: { __detexTensor: 1, dtype: 'float32', shape: [2, 8], data: new Float32Array(16) }, concept: 'dog.detex.safetensors' });
      assert.deepStrictEqual(decodeTensorMsgToHost(((await mp).payload as { pose: unknown }).pose).shape, [2, 2]);

      const im = next('img');
      send('ds', { payload: pm.payload, concept: pm.concept });
      const img = await im;
      const meta = readDetexMetadata(img.payload as Buffer);
      assert.strictEqual(meta?.prompt, 'a photo of <S*> dog on the beach');
      assert.strictEqual(meta?.seed, 7);
      assert.strictEqual(meta?.guidance, 6, 'no guidance in node or msg, none in the model folder: the paper default');

      const sv = next('saved');
      send('io', img);
      const file = (await sv).filename as string;
      assert.ok(file.startsWith(path.join(fs.realpathSync(userDir), 'detex', 'out')));
      assert.strictEqual(readDetexMetadata(fs.readFileSync(file))?.seed, 7);

      const sc = next('scores');
      send('ev', { payload: [img.payload], prompt: 'x', references: [await png()], metrics: ['clip-t', 'clip-i'] });
      assert.deepStrictEqual((await sc).payload, { 'clip-t': 0.5, 'clip-i': 0.5 });
    });

    it('should queue a second training, refuse one when the queue is full, and cancel by msg', async () => {
      process.env.FAKE_STEP_MS = '100';
      try {
        await trainFlow({ steps: 50, maxQueue: 1 });
        const imgs = [await png()];
        const e1 = nextError(10000);
        send('t', { payload: imgs, className: 'dog' });
        send('t', { payload: imgs, className: 'cat' }); // queued
        send('t', { payload: imgs, className: 'cow' }); // queue full
        assert.match(await e1, /queue is full/);
        await new Promise((r) => setTimeout(r, 300));
        const errs: string[] = [];
        helper.getNode('caught').on('input', (m: { error: { message: string } }) => errs.push(m.error.message));
        const t0 = Date.now();
        send('t', { cancel: true });
        await new Promise((r) => setTimeout(r, 1000));
        assert.ok(errs.filter((e) => /cancelled/.test(e)).length === 2, errs.join('; '));
        assert.ok(Date.now() - t0 < 4000);
      } finally {
        delete process.env.FAKE_STEP_MS;
      }
    });

    it('should kill the training child on close within the close timeout', async () => {
      process.env.FAKE_STEP_MS = '1000';
      try {
        await trainFlow({ steps: 100 });
        const pids: number[] = [];
        helper.getNode('t').on('call:status', () => undefined);
        send('t', { payload: [await png()], className: 'dog' });
        await new Promise((r) => setTimeout(r, 800));
        const { execSync } = require('child_process');
        const kids = String(execSync(`pgrep -P ${process.pid} || true`)).trim().split('\n').filter(Boolean).map(Number);
        pids.push(...kids);
        assert.ok(pids.length >= 1, 'a child is running');
        const t0 = Date.now();
        await helper.unload();
        assert.ok(Date.now() - t0 < 5000, `close took ${Date.now() - t0} ms`);
        for (const pid of pids) assert.throws(() => process.kill(pid, 0));
      } finally {
        delete process.env.FAKE_STEP_MS;
      }
    });

    it('should report a crashed training process and bad training input', async () => {
      await trainFlow();
      const cases: Array<[Record<string, unknown>, RegExp]> = [
        [{ payload: [await png()], className: 'crash' }, /exited \(code 3\)/],
        [{ payload: [await png()] }, /class word/],
        [{ payload: [await png()], className: 'dog', conceptName: '../x' }, /concept name/],
        [{ payload: [await png(), await png()], className: 'dog', mask: [{ __detexTensor: 1, dtype: 'uint8', shape: [6, 8], data: new Uint8Array(48) }] }, /2 images but 1 masks/],
        [{ payload: [await png()], className: 'dog', steps: -1 }, /steps must be a number/],
      ];
      for (const [msg, re] of cases) {
        const err = nextError(10000);
        send('t', msg);
        assert.match(await err, re);
      }
    });

    it('should sample several images with parts, cancel, and refuse bad prompts and concepts', async () => {
      await trainFlow();
      const got: Array<Record<string, unknown>> = [];
      helper.getNode('img').on('input', (m: Record<string, unknown>) => got.push(m));
      send('ds', { payload: 'a dog', count: 2, seed: 1 });
      await new Promise((r) => setTimeout(r, 300));
      assert.strictEqual(got.length, 2);
      assert.deepStrictEqual(got.map((m) => (m.parts as { index: number }).index), [0, 1]);
      assert.deepStrictEqual(got.map((m) => m.seed), [1, 2]);
      const cases: Array<[Record<string, unknown>, RegExp]> = [
        [{ payload: '' }, /non-empty prompt/],
        [{ payload: 'x', guidance: 'lots' }, /guidance must be a number/],
        [{ payload: 'x', concept: '../../secret' }, /"\.\."/],
        [{ payload: 'x', concept: { __detexRef: 'concept', path: '/etc/passwd' } }, /absolute/],
        [{ payload: 'x', concept: 'nope.detex.safetensors' }, /does not exist/],
      ];
      for (const [msg, re] of cases) {
        const err = nextError();
        send('ds', msg);
        assert.match(await err, re);
      }
      process.env.FAKE_STEP_MS = '50';
      try {
        const err = nextError();
        send('ds', { payload: 'slow', steps: 100 });
        await new Promise((r) => setTimeout(r, 200));
        send('ds', { cancel: true });
        assert.match(await err, /cancelled/);
      } finally {
        delete process.env.FAKE_STEP_MS;
      }
    });
  });

  describe('detex-image-in / detex-image-out path safety', () => {
    it('should read the folder, refuse escapes by .. , absolute paths and symlinks, and check uploads', async () => {
      const folder = path.join(userDir, 'imgs');
      fs.mkdirSync(folder, { recursive: true });
      fs.writeFileSync(path.join(folder, 'a.png'), await png());
      fs.writeFileSync(path.join(folder, 'b.png'), await png(4, 4));
      fs.writeFileSync(path.join(userDir, 'secret.png'), await png());
      fs.symlinkSync(path.join(userDir, 'secret.png'), path.join(folder, 'link.png'));
      await load([
        { id: 'in', type: 'detex-image-in', folder, maxSizeMB: 0.01, wires: [['out']] },
        { id: 'out', type: 'helper' },
        { id: 'wo', type: 'detex-image-out', folder: path.join(userDir, 'o'), wires: [['out']] },
      ]);
      let g = next('out');
      send('in', { payload: ['a.png', 'b.png'] });
      assert.deepStrictEqual((await g).filenames, ['a.png', 'b.png']);
      const cases: Array<[string, Record<string, unknown>, RegExp]> = [
        ['in', { payload: 'link.png' }, /outside the configured folder/],
        ['in', {}, /outside the configured folder/], // the whole folder contains the link
        ['in', { payload: '../secret.png' }, /"\.\."/],
        ['in', { payload: path.join(userDir, 'secret.png') }, /absolute/],
        ['in', { payload: 'none.png' }, /does not exist/],
        ['in', { req: { files: [{ originalname: 'x.png', size: 10, buffer: Buffer.from('GIF89a....') }] } }, /not a PNG, JPEG or WebP/],
        ['in', { req: { files: [{ originalname: 'big.png', size: 50000, buffer: Buffer.alloc(50000) }] } }, /larger than/],
        ['wo', { payload: await png(), filename: '../escape.png' }, /"\.\."/],
        ['wo', { payload: await png(), filename: 'x.txt' }, /must end in \.png/],
      ];
      for (const [id, msg, re] of cases) {
        const err = nextError();
        send(id, msg);
        assert.match(await err, re, JSON.stringify(msg).slice(0, 80));
      }
      fs.mkdirSync(path.join(userDir, 'o'), { recursive: true });
      fs.symlinkSync(path.join(userDir, 'secret.png'), path.join(userDir, 'o', 'l.png'));
      const err = nextError();
      send('wo', { payload: await png(), filename: 'l.png' });
      assert.match(await err, /outside/);
      g = next('out');
      send('in', { req: { files: [{ originalname: 'u.png', size: 100, buffer: await png() }] }, payload: { class: 'dog' } });
      const up = await g;
      assert.deepStrictEqual(up.fields, { class: 'dog' });
    });
  });
});
