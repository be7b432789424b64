/**
 * The example flows end to end on the REAL engine — real models (the embedded default, whatever an empty
 * detex-model setting means), SAM masks, DETEX training in the child process, DDIM sampling — in headless
 * Node-RED runtimes: example 01 from its inject button to the saved PNGs, 02 over HTTP (train, then generate),
 * 03 over MQTT through mosquitto on loopback (jobs in, PNGs out, one with a concept trained by lib/engine as the
 * CLI does).
 *
 * To keep this file to a couple of minutes on a shared CPU, each test lowers step counts before deploying: the
 * training steps, the class images for prior preservation and their DDIM steps, the sampling DDIM steps (see
 * `configure`: only values of existing node settings change; the wiring and node types are the examples' own).
 * The shipped examples keep their CPU defaults. After the jobs each runtime is redeployed in full, which must
 * release the model and bring its tfjs tensor count back to where it was before the first job, and no training
 * child may be left running.
 *
 * A concept only loads on the model weights it was trained on. While scripts/pretrain rewrites the embedded model in
 * place, a test that trains and then samples can meet two versions of it; such a test (and only such) runs once more.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import {
  example, startRuntime, mosquittoForSuite, Runtime, runtimeState, deployFull, pressInject, childPids, cpuSeconds, logTail, watchDebug,
} from './runtime';
import { defaultModelFolder } from '../../nodes/shared/model-folder';
import { readDetexMetadata } from '../../lib/io/png-metadata';
import { loadConcept } from '../../lib/detex/concept';
import { heldOutSubjects, subjectId, subjectPhotos, RenderedScene } from '../../lib/world';
import { DetexSession, train } from '../../lib/engine';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const bcrypt = require('bcryptjs');
// eslint-disable-next-line @typescript-eslint/no-var-requires
const mqtt = require('mqtt');

type Flow = Array<Record<string, unknown>>;

/** Node-RED's start may take long on a CPU shared with heavier jobs. */
const START_MS = 120000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sizes and modification times of every file of a model folder: changes when the folder is rewritten. */
function folderSignature(dir: string): string {
  const parts: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const f = path.join(d, e.name);
      if (e.isDirectory()) walk(f);
      else {
        const st = fs.statSync(f);
        parts.push(`${path.relative(dir, f)}:${st.size}:${st.mtimeMs}`);
      }
    }
  };
  walk(dir);
  return parts.join('\n');
}

/**
 * Runs a test; if it fails while the model folder was rewritten under it (pretraining in place), runs it once more.
 * A failure on a model folder that stayed as it was is the test's failure, as is a second one.
 */
async function onStableModel(folder: string, run: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const before = folderSignature(folder);
    try {
      return await run();
    } catch (e) {
      if (folderSignature(folder) === before) throw e;
      const note = `${folder} was rewritten during the test (a pretraining job writing it?)`;
      if (attempt === 2) throw new Error(`${(e as Error).message}\n(${note}, twice)`);
      console.log(`      (${note}; running the test again. The failure was: ${(e as Error).message.split('\n')[0]})`);
    }
  }
}

/** The image side of a diffusers model folder: unet sample_size × the VAE's downsampling factor. */
function imageSize(folder: string): number {
  const unet = JSON.parse(fs.readFileSync(path.join(folder, 'unet', 'config.json'), 'utf8'));
  const vae = JSON.parse(fs.readFileSync(path.join(folder, 'vae', 'config.json'), 'utf8'));
  return unet.sample_size * 2 ** (vae.block_out_channels.length - 1);
}

/**
 * The example with some node settings changed, for speed only. Each node must exist and each setting must already
 * be one of its fields, so a renamed node or field in an example fails here instead of silently not lowering.
 */
function configure(flow: Flow, changes: Record<string, Record<string, unknown>>): Flow {
  const out = flow.map((n) => ({ ...n }));
  for (const [id, set] of Object.entries(changes)) {
    const node = out.find((n) => n.id === id);
    assert.ok(node, `the example has no node "${id}"`);
    for (const [k, v] of Object.entries(set)) {
      assert.ok(k in node, `node "${id}" (${node.type}) has no setting "${k}"`);
      node[k] = v;
    }
  }
  return out;
}

/** An inject node's `props` with new values (as JSON) for msg properties it sets (each must be set already). */
function injectProps(flow: Flow, id: string, extra: Record<string, unknown>): Array<Record<string, unknown>> {
  const props = (flow.find((n) => n.id === id)?.props ?? []) as Array<Record<string, unknown>>;
  for (const k of Object.keys(extra)) assert.ok(props.some((p) => p.p === k), `inject "${id}" sets no msg.${k}`);
  return [...props.filter((p) => !(String(p.p) in extra)), ...Object.entries(extra).map(([p, v]) => ({ p, v: JSON.stringify(v), vt: 'json' }))];
}

/** A change node's `set` rules with new values for the msg properties they set (each must be set already). */
function changeRules(flow: Flow, id: string, values: Record<string, unknown>): Array<Record<string, unknown>> {
  const rules = (flow.find((n) => n.id === id)?.rules ?? []) as Array<Record<string, unknown>>;
  for (const k of Object.keys(values)) assert.ok(rules.some((r) => r.t === 'set' && r.p === k), `change node "${id}" sets no msg.${k}`);
  return rules.map((r) => (r.t === 'set' && String(r.p) in values ? { ...r, to: JSON.stringify(values[String(r.p)]), tot: 'json' } : r));
}

/** A PNG of the model's size with real content: not one flat colour. Returns its RGB pixels. */
async function checkPng(png: Buffer, size: number, what: string): Promise<Buffer> {
  const info = await sharp(png).metadata();
  assert.deepStrictEqual([info.format, info.width, info.height], ['png', size, size], `${what}: a ${size}×${size} PNG`);
  const { data } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let lo = 255;
  let hi = 0;
  for (const v of data) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  assert.ok(hi - lo > 8, `${what}: the pixels span ${lo}..${hi}, a flat image`);
  return data;
}

/**
 * Redeploys the flows in full: every node closes, so the model is released. The runtime must then hold no model and
 * as many tensors as before the first job (anything more leaked), and no training child.
 */
async function expectReleased(rt: Runtime, flows: Flow, baseline: number): Promise<void> {
  const loaded = await runtimeState(rt); // the probe must see the model's tensors, or the check below proves nothing
  assert.ok(loaded.loadedModels === 1 && loaded.numTensors > baseline, `the model is loaded and holds tensors: ${JSON.stringify(loaded)}`);
  await deployFull(rt, flows);
  const end = Date.now() + 20000;
  let s = await runtimeState(rt);
  while ((s.loadedModels !== 0 || s.numTensors !== baseline) && Date.now() < end) {
    await sleep(200);
    s = await runtimeState(rt);
  }
  assert.deepStrictEqual(
    { loadedModels: s.loadedModels, numTensors: s.numTensors },
    { loadedModels: 0, numTensors: baseline },
    `after a full redeploy the runtime should hold no model and its ${baseline} tensors from before the first job\n${logTail(rt)}`,
  );
  assert.deepStrictEqual(childPids(rt.proc.pid!), [], 'no child process left running');
}

/** Waits for the training child to exit (it does right after sending its concept). */
async function noChildren(rt: Runtime): Promise<void> {
  const end = Date.now() + 10000;
  while (childPids(rt.proc.pid!).length && Date.now() < end) await sleep(100);
  assert.deepStrictEqual(childPids(rt.proc.pid!), [], 'the training child exited after training');
}

describe('example flows on the real engine (embedded default model) in a headless Node-RED', function () {
  this.timeout(360000); // a test runs twice when the model folder is rewritten under it (see onStableModel)
  const model = defaultModelFolder(); // what the examples' empty model folder means
  const size = imageSize(model);
  // Photos of a held-out subject of the package's procedural world (never seen in pretraining), at the model's size.
  const subject = heldOutSubjects()[0];
  const cls = subject.cls;
  let scenes: RenderedScene[] = [];
  let photos: Buffer[] = [];
  const runtimes: Runtime[] = [];

  before(async () => {
    scenes = subjectPhotos(subjectId(subject), 3, 0, { size });
    photos = await Promise.all(
      scenes.map((s) =>
        sharp(Buffer.from(s.image.data as Uint8Array), { raw: { width: size, height: size, channels: 3 } }).png().toBuffer(),
      ),
    );
  });
  after(async () => {
    await Promise.all(runtimes.map((r) => r.stop()));
  });

  it('01: should mask, train, compose, sample and save valid PNGs, from the inject button', () => onStableModel(model, async () => {
    const shipped = example('01');
    const flow = configure(shipped, {
      // lowered for the test (the example ships 100 steps, a preview every 50, 30 DDIM steps)
      tr: { className: cls, steps: '2', previewEvery: '2' },
      ds: { steps: '3' },
      // the inject's msg.options and msg.classImageSteps (8 class images of 25 DDIM steps shipped): 2 of 2, 2 images a step
      i1: { props: injectProps(shipped, 'i1', { options: { numClassImages: 2, batchSize: 2 }, classImageSteps: 2 }) },
    });
    const rt = await startRuntime(flow, { engine: 'real', startTimeoutMs: START_MS });
    runtimes.push(rt);
    const images = path.join(rt.userDir, 'detex', 'images');
    fs.mkdirSync(images, { recursive: true });
    photos.forEach((p, i) => fs.writeFileSync(path.join(images, `photo-${i + 1}.png`), p));
    const watch = await watchDebug(rt);
    try {
      const idle = await runtimeState(rt);
      assert.strictEqual(idle.loadedModels, 0, 'the model loads on first use');

      const t0 = Date.now();
      const cpu0 = cpuSeconds(rt.proc.pid!);
      await pressInject(rt, 'i1');
      const saved = await watch.until('saved', 2, 150000);
      const wall = (Date.now() - t0) / 1000;

      // the progress output: class images, then the 2 training steps and a preview, then sampling
      const progress = watch.messages.filter((m) => m.name === 'progress').map((m) => (m.msg as { topic?: string; payload: Record<string, unknown> }));
      const phases = progress.map((p) => `${p.payload.phase ?? 'sample'}`);
      assert.ok(phases.includes('class-images') && phases.includes('preview'), phases.join(', '));
      assert.deepStrictEqual(progress.filter((p) => p.payload.phase === 'train').map((p) => p.payload.step), [1, 2]);
      for (const p of progress.filter((x) => x.payload.phase === 'train')) assert.ok(Number.isFinite(p.payload.loss), `a real loss: ${JSON.stringify(p.payload)}`);

      // the concept the child trained
      const conceptFile = path.join(rt.userDir, 'detex', 'concepts', `${cls}.detex.safetensors`);
      const concept = loadConcept(conceptFile);
      assert.deepStrictEqual([concept.meta.steps, concept.meta.classWord, concept.pose.length], [2, cls, photos.length]);
      await noChildren(rt);
      console.log(`      (example 01 on ${path.basename(model)}: ${wall.toFixed(1)} s, ${(cpuSeconds(rt.proc.pid!) - cpu0).toFixed(1)} CPU-s with the training child)`);

      // two images (count 2: seeds 42, 43) saved with their recipe
      const files = saved.map((m) => (m.msg as { filename: string }).filename).sort();
      const out = fs.realpathSync(path.join(rt.userDir, 'detex', 'out'));
      assert.deepStrictEqual(files, [path.join(out, 'detex-42-0.png'), path.join(out, 'detex-43-0.png')]);
      const pixels: Buffer[] = [];
      for (const [i, f] of files.entries()) {
        const png = fs.readFileSync(f);
        pixels.push(await checkPng(png, size, f));
        const meta = readDetexMetadata(png);
        assert.deepStrictEqual(
          [meta?.prompt, meta?.seed, meta?.steps, meta?.model, meta?.concept],
          [`a photo of ${concept.meta.tokens.subject} ${cls} in snow background`, 42 + i, 3, model, fs.realpathSync(conceptFile)],
        );
      }
      assert.ok(!pixels[0].equals(pixels[1]), 'two seeds, two images');

      await expectReleased(rt, flow, idle.numTensors);
    } finally {
      watch.close();
      await rt.stop();
    }
  }));

  it('02: should train over HTTP (multipart upload, behind httpNodeAuth) and answer a generate POST with a PNG', () => onStableModel(model, async () => {
    const shipped = example('02');
    const flow = configure(shipped, {
      // lowered for the test (the example ships 100 steps, 8 class images of 25 DDIM steps, 30 DDIM steps to sample)
      tr: { steps: '2' },
      ds: { steps: '3' },
      opts: { rules: changeRules(shipped, 'opts', { options: { numClassImages: 2, batchSize: 2 }, classImageSteps: 2 }) },
    });
    const hash = bcrypt.hashSync('secret', 8);
    const rt = await startRuntime(flow, { engine: 'real', startTimeoutMs: START_MS, settings: `httpNodeAuth: { user: 'detex', pass: '${hash}' }` });
    runtimes.push(rt);
    try {
      const base = `http://127.0.0.1:${rt.port}`;
      const auth = { authorization: 'Basic ' + Buffer.from('detex:secret').toString('base64') };
      const baseline = (await runtimeState(rt)).numTensors;

      const form = new FormData();
      form.append('class', cls);
      photos.forEach((p, i) => form.append('images', new Blob([p], { type: 'image/png' }), `photo-${i + 1}.png`));
      const tr = await fetch(`${base}/detex/train`, { method: 'POST', body: form, headers: auth });
      const trained = (await tr.json()) as { concept?: string; error?: string };
      assert.strictEqual(tr.status, 200, `train: ${JSON.stringify(trained)}\n${logTail(rt)}`);
      assert.strictEqual(trained.concept, `${cls}.detex.safetensors`);
      const conceptFile = path.join(rt.userDir, 'detex', 'concepts', trained.concept!);
      assert.deepStrictEqual([loadConcept(conceptFile).meta.steps, loadConcept(conceptFile).meta.classWord], [2, cls]);
      await noChildren(rt);

      const generate = (seed: number) =>
        fetch(`${base}/detex/generate`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify({ prompt: 'a photo of {{V}} {{class}} in the snow', concept: trained.concept, seed }),
        });
      const gen = await generate(5);
      const png = Buffer.from(await gen.arrayBuffer());
      assert.strictEqual(gen.status, 200, `generate: ${png.toString().slice(0, 500)}\n${logTail(rt)}`);
      assert.strictEqual(gen.headers.get('content-type'), 'image/png');
      const pixels = await checkPng(png, size, 'generate');
      const meta = readDetexMetadata(png);
      assert.deepStrictEqual([meta?.seed, meta?.steps, meta?.model, meta?.concept], [5, 3, model, fs.realpathSync(conceptFile)]);
      assert.match(String(meta?.prompt), new RegExp(`^a photo of \\S+ ${cls} in the snow$`));
      // the same request again gives the same image: nothing of the first job stayed in the shared model
      const again = Buffer.from(await (await generate(5)).arrayBuffer());
      assert.ok((await checkPng(again, size, 'generate again')).equals(pixels), 'the same request, the same pixels');

      // a bad request is answered 400 with the reason, and the runtime lives on
      const r2 = await fetch(`${base}/detex/generate`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'x', concept: 'nope.detex.safetensors' }) });
      assert.strictEqual(r2.status, 400);
      assert.ok(((await r2.json()) as { error: string }).error);

      await expectReleased(rt, flow, baseline);
    } finally {
      await rt.stop();
    }
  }));

  describe('03 over MQTT', function () {
    const brokerPort = mosquittoForSuite();

    it('should take jobs published on a topic and publish the PNGs back, with and without a concept', () => onStableModel(model, async () => {
      const flow = configure(example('03'), {
        ds: { steps: '3' }, // lowered for the test (the example ships 30)
        b1: { broker: '127.0.0.1', port: String(brokerPort()) },
      });
      const rt = await startRuntime(flow, { engine: 'real', startTimeoutMs: START_MS, env: { DETEX_WORKER: 'w1' } });
      runtimes.push(rt);
      try {
        // a concept trained outside the flow, as `detex train` does (lib/engine here), put in the concepts folder
        const concepts = path.join(rt.userDir, 'detex', 'concepts');
        const here = tf.memory().numTensors;
        const session = await DetexSession.open(undefined, { warn: () => undefined }); // the embedded default
        try {
          assert.strictEqual(session.folder, model);
          await train(session, {
            images: scenes.map((x) => x.image), masks: scenes.map((x) => x.mask), className: cls, conceptPath: path.join(concepts, 'mine.detex.safetensors'),
            steps: 2, seed: 0, classImageSteps: 2, options: { numClassImages: 2, batchSize: 2 },
          });
        } finally {
          await session.dispose();
        }
        assert.strictEqual(tf.memory().numTensors, here, 'training in this process left no tensors behind');
        const baseline = (await runtimeState(rt)).numTensors;
        const end = Date.now() + 60000;
        while (!rt.log.join('').includes('Connected to broker')) {
          if (Date.now() > end) throw new Error('the runtime did not connect to the broker:\n' + logTail(rt));
          await sleep(100);
        }
        await sleep(300); // the subscription follows the connection

        const c = mqtt.connect(`mqtt://127.0.0.1:${brokerPort()}`);
        await new Promise((r, j) => {
          c.once('connect', r);
          c.once('error', j);
        });
        try {
          await new Promise((r) => c.subscribe(['detex/results/#', 'detex/errors/#'], r));
          const got = new Map<string, Buffer>();
          c.on('message', (t: string, p: Buffer) => got.set(t, p));
          const reply = async (topic: string): Promise<Buffer> => {
            const until = Date.now() + 60000;
            while (!got.has(topic)) {
              const err = [...got.keys()].find((t) => t.startsWith('detex/errors/'));
              if (err && !topic.startsWith('detex/errors/')) throw new Error(`${err}: ${got.get(err)}\n${logTail(rt)}`);
              if (Date.now() > until) throw new Error(`no message on ${topic} (got ${[...got.keys()].join(', ') || 'none'})\n${logTail(rt)}`);
              await sleep(100);
            }
            return got.get(topic)!;
          };

          // a plain prompt, one with the trained concept, the plain one again: the concept left the model as it was
          c.publish('detex/jobs', JSON.stringify({ id: 'j1', prompt: `a photo of a ${cls}`, seed: 3 }), { qos: 1 });
          const p1 = await reply('detex/results/j1/w1');
          const px1 = await checkPng(p1, size, 'j1');
          assert.deepStrictEqual([readDetexMetadata(p1)?.prompt, readDetexMetadata(p1)?.seed, readDetexMetadata(p1)?.concept], [`a photo of a ${cls}`, 3, undefined]);
          c.publish('detex/jobs', JSON.stringify({ id: 'j2', prompt: 'a photo of {{V}} {{class}}', concept: 'mine.detex.safetensors', seed: 3 }), { qos: 1 });
          const p2 = await reply('detex/results/j2/w1');
          await checkPng(p2, size, 'j2');
          assert.strictEqual(readDetexMetadata(p2)?.concept, fs.realpathSync(path.join(concepts, 'mine.detex.safetensors')));
          c.publish('detex/jobs', JSON.stringify({ id: 'j3', prompt: `a photo of a ${cls}`, seed: 3 }), { qos: 1 });
          assert.ok((await checkPng(await reply('detex/results/j3/w1'), size, 'j3')).equals(px1), 'j3 repeats j1 pixel for pixel');

          // a job the flow refuses comes back on the error topic with the reason
          c.publish('detex/jobs', JSON.stringify({ id: 'j4', prompt: 'x', concept: '/etc/passwd' }), { qos: 1 });
          assert.match(String(await reply('detex/errors/j4')), /absolute/);
        } finally {
          c.end();
        }
        await expectReleased(rt, flow, baseline);
      } finally {
        await rt.stop();
      }
    }));
  });
});
