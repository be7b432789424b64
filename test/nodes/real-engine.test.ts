/**
 * Every engine-backed node on the REAL engine (lib/engine over the embedded detex-tiny model, named by path for
 * speed: an empty model folder means detex-mini), not the fake:
 * sam-mask, clip-encode, detex-train (child process, 2 real steps) → prompt-composer → attribute-mapper →
 * ddim-sample (loads that concept) → detex-image-out, and detex-eval.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { helper, ALL_NODES, catchNode, tmpUserDir, next, send } from './helpers';
import { removeTempDir } from '../helpers/temp-dir';
import { resetEngine, getEngine } from '../../nodes/shared/engine';
import { decodeTensorMsgToHost } from '../../lib/tensor-msg';
import { readDetexMetadata } from '../../lib/io/png-metadata';
import { loadConcept } from '../../lib/detex/concept';
import { releaseModel } from '../../nodes/shared/models';
import { tinyModelDir } from '../../lib/models/default-model';

async function discPng(k: number): Promise<{ image: Buffer; mask: Buffer }> {
  const S = 64;
  const rgb = Buffer.alloc(S * S * 3);
  const m = Buffer.alloc(S * S);
  for (let i = 0; i < S * S; i++) {
    const x = i % S;
    const y = Math.floor(i / S);
    const inside = (x - 32 - 4 * k) ** 2 + (y - 32) ** 2 < 300;
    rgb.set(inside ? [220, 40, 40] : [30, 120 + 40 * k, 200], 3 * i);
    m[i] = inside ? 255 : 0;
  }
  return {
    image: await sharp(rgb, { raw: { width: S, height: S, channels: 3 } }).png().toBuffer(),
    mask: await sharp(m, { raw: { width: S, height: S, channels: 1 } }).png().toBuffer(),
  };
}

describe('DETEX nodes on the real engine (embedded detex-tiny)', function () {
  this.timeout(120000);
  let saved: string | undefined;
  let userDir: string;
  before(() => {
    saved = process.env.DETEX_NODES_ENGINE;
    delete process.env.DETEX_NODES_ENGINE; // the training child inherits this environment too
    resetEngine();
    assert.strictEqual(getEngine().name, 'lib');
    userDir = tmpUserDir();
  });
  after(async () => {
    await helper.unload();
    if (userDir) removeTempDir(userDir);
    if (saved !== undefined) process.env.DETEX_NODES_ENGINE = saved;
    resetEngine();
  });

  it('should segment, encode, train in a child, compose, map, sample the trained concept, save and score', async () => {
    const pos = (n: Record<string, unknown>) => ({ z: 'f1', x: 0, y: 0, wires: [], ...n });
    const flow = [
      { id: 'f1', type: 'tab' },
      { id: 'm', type: 'detex-model', z: 'f1', folder: tinyModelDir() }, // its shapes are asserted below ([2, 32], 8×8×4 latents)
      pos({ id: 'sam', type: 'sam-mask', model: 'm', points: '[[32, 32]]', wires: [['masks']] }),
      pos({ id: 'ce', type: 'clip-encode', model: 'm', wires: [['embeds']] }),
      pos({ id: 't', type: 'detex-train', model: 'm', steps: 2, wires: [['concept'], ['progress']] }),
      pos({ id: 'pc', type: 'prompt-composer', template: 'a {{V}} {{class}} in {{B.2}} background at {{place}}', wires: [['prompt']] }),
      pos({ id: 'am', type: 'attribute-mapper', model: 'm', wires: [['mapped']] }),
      pos({ id: 'ds', type: 'ddim-sample', model: 'm', steps: 2, seed: 3, wires: [['img'], ['dprog']] }),
      pos({ id: 'io', type: 'detex-image-out', wires: [['saved']] }),
      pos({ id: 'ev', type: 'detex-eval', model: 'm', wires: [['scores']] }),
      ...['masks', 'embeds', 'concept', 'progress', 'prompt', 'mapped', 'img', 'dprog', 'saved', 'scores', 'caught'].map((id) => pos({ id, type: 'helper' })),
      pos({ id: 'catch', type: 'catch', wires: [['caught']] }),
    ];
    await new Promise<void>((resolve) => helper.load([...ALL_NODES, catchNode], flow, () => resolve()));
    const errors: string[] = [];
    helper.getNode('caught').on('input', (m: { error: { message: string } }) => errors.push(m.error.message));
    const discs = [await discPng(0), await discPng(1)];

    // sam-mask: real SAM, one [64, 64] 0/1 mask per image
    const mk = next('masks', 60000);
    send('sam', { payload: discs.map((d) => d.image) });
    const masks = ((await mk).mask as unknown[]).map((x) => decodeTensorMsgToHost(x));
    assert.deepStrictEqual(masks.map((m) => m.shape), [[64, 64], [64, 64]]);
    assert.ok(masks.every((m) => m.data.every((v) => v === 0 || v === 1)));

    // clip-encode: real CLIP image tower, [2, 32]
    const em = next('embeds', 60000);
    send('ce', { payload: discs.map((d) => d.image) });
    const emb = await em;
    assert.deepStrictEqual([decodeTensorMsgToHost(emb.payload).shape, emb.embedding], [[2, 32], 'image']);

    // detex-train: the child process runs 2 real DETEX steps and writes a concept file
    const progress: number[] = [];
    const phases = new Set<string>();
    helper.getNode('progress').on('input', (m: { topic: string; payload: { step: number; phase: string } }) => {
      phases.add(`${m.payload.phase}@${m.topic}`);
      if (m.payload.phase === 'train') progress.push(m.payload.step);
    });
    const done = next('concept', 100000);
    send('t', { payload: discs.map((d) => d.image), mask: discs.map((d) => d.mask), className: 'ball', options: { batchSize: 1, microBatch: 1, numClassImages: 2 }, classImageSteps: 2 });
    const c = await done;
    assert.deepStrictEqual(errors, []);
    const conceptFile = (c.payload as { path: string }).path;
    const concept = loadConcept(conceptFile);
    assert.deepStrictEqual([concept.meta.steps, concept.meta.classWord, concept.pose.length, progress], [2, 'ball', 2, [1, 2]]);
    assert.ok(phases.has('class-images@progress/class-images') && phases.has('train@progress'), [...phases].join(', '));

    // prompt-composer: the concept's pseudo-words, with plain-array substitutions
    const pr = next('prompt');
    send('pc', { payload: { place: 'the beach' }, concept: c.concept });
    const pm = await pr;
    assert.strictEqual(pm.payload, 'a <new1> ball in <new1:b2> background at the beach');
    const subs = pm.substitutions as Array<{ position: number; token: string; vector: number[] }>;
    assert.deepStrictEqual(subs.map((x) => x.token), ['<new1>', '<new1:b2>']);
    assert.deepStrictEqual(subs[1].vector, Array.from(concept.background[1]));

    // attribute-mapper: the concept's mappers on the CLIP embeddings give its stored [P_i]
    const mp = next('mapped');
    send('am', { payload: emb.payload, concept: c.concept });
    const pose = decodeTensorMsgToHost((((await mp).payload) as { pose: unknown }).pose);
    assert.deepStrictEqual(pose.shape, [2, 32]);
    for (let j = 0; j < 32; j++) assert.ok(Math.abs((pose.data[32 + j] as number) - concept.pose[1][j]) < 1e-4);

    // ddim-sample loads the trained concept; detex-image-out saves the PNG with its recipe
    const im = next('img', 60000);
    send('ds', { payload: 'a {{V}} {{class}} in {{B.2}} background', concept: c.concept });
    const img = await im;
    const meta = readDetexMetadata(img.payload as Buffer);
    assert.deepStrictEqual([meta?.prompt, meta?.seed, meta?.concept], ['a {{V}} {{class}} in {{B.2}} background', 3, conceptFile]);
    const info = await sharp(img.payload as Buffer).metadata();
    assert.deepStrictEqual([info.width, info.height], [64, 64]);
    assert.deepStrictEqual(decodeTensorMsgToHost(img.latents).shape, [1, 8, 8, 4]);
    const sv = next('saved');
    send('io', img);
    assert.ok(fs.existsSync((await sv).filename as string));

    // detex-eval: real CLIP-I / CLIP-I(FG); CLIP-T is refused with the reason on this model
    const sc = next('scores', 60000);
    send('ev', { payload: [discs[0].image], references: [discs[0].image], referenceMasks: [discs[0].mask], metrics: ['clip-i', 'clip-i-fg'] });
    const scores = (await sc).payload as Record<string, number>;
    assert.ok(Math.abs(scores['clip-i'] - 1) < 1e-5 && Number.isFinite(scores['clip-i-fg']));
    const caught = next('caught');
    send('ev', { payload: [discs[0].image], prompt: 'a ball', metrics: ['clip-t'] });
    assert.match(String(((await caught).error as { message: string }).message), /text projection/);
    assert.ok(path.dirname(conceptFile).startsWith(fs.realpathSync(userDir)));
  });
});
