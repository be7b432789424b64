/** Shared set-up for the node tests: the fake engine, node-red-node-test-helper, tiny images. */
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { tempDir } from '../helpers/temp-dir';

process.env.DETEX_NODES_ENGINE = path.join(__dirname, 'fake-engine.js');
// eslint-disable-next-line @typescript-eslint/no-var-requires
export const helper = require('node-red-node-test-helper');
helper.init(require.resolve('node-red'));

const dist = path.join(__dirname, '..', '..', 'nodes');
export const TYPES = ['detex-model', 'detex-image-in', 'sam-mask', 'clip-encode', 'attribute-mapper', 'detex-train', 'prompt-composer', 'ddim-sample', 'detex-image-out', 'detex-eval'];
export const ALL_NODES = TYPES.map((t) => require(path.join(dist, t, `${t}.js`)));
// eslint-disable-next-line @typescript-eslint/no-var-requires
export const catchNode = require('@node-red/nodes/core/common/25-catch.js');

/** A fresh Node-RED userDir for the test helper; remove it with removeTempDir (test/helpers/temp-dir) after helper.unload(). */
export function tmpUserDir(): string {
  const d = tempDir('detex-nodes-');
  helper.settings({ userDir: d });
  return d;
}

export async function png(w = 8, h = 6, alpha = false): Promise<Buffer> {
  const ch = alpha ? 4 : 3;
  const data = Buffer.alloc(w * h * ch);
  for (let i = 0; i < w * h; i++) {
    data[ch * i] = (i * 13) % 256;
    data[ch * i + 1] = 100;
    data[ch * i + 2] = 200;
    if (alpha) data[ch * i + 3] = i % w < w / 2 ? 255 : 0;
  }
  return sharp(data, { raw: { width: w, height: h, channels: ch } }).png().toBuffer();
}

export const MODEL = { id: 'm1', type: 'detex-model', folder: '/fake/model' };

/** Loads `flow` (+ a model config node and a catch node wired to helper node 'caught'). */
export function load(flow: object[]): Promise<void> {
  // flow nodes have x/y (the runtime treats nodes without them as config nodes)
  const pos = (n: Record<string, unknown>) => (n.type === 'detex-model' ? { z: 'f1', ...n } : { z: 'f1', x: 0, y: 0, wires: [], ...n });
  const full = [{ id: 'f1', type: 'tab' }, ...(flow as Array<Record<string, unknown>>).map(pos), { ...MODEL, z: 'f1' }, pos({ id: 'catch', type: 'catch', wires: [['caught']] }), pos({ id: 'caught', type: 'helper' })];
  return new Promise((resolve, reject) => {
    try {
      helper.load([...ALL_NODES, catchNode], full, () => resolve());
    } catch (e) {
      reject(e);
    }
  });
}

/** The next msg a helper node receives. */
export function next(id: string, ms = 5000): Promise<Record<string, unknown>> {
  const n = helper.getNode(id);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no msg at ${id} within ${ms} ms`)), ms);
    n.once('input', (msg: Record<string, unknown>) => {
      clearTimeout(timer);
      resolve(msg);
    });
  });
}

/** The next error caught by the catch node. */
export async function nextError(ms = 5000): Promise<string> {
  const m = await next('caught', ms);
  return String((m.error as { message: string }).message);
}

export function send(id: string, msg: Record<string, unknown>): void {
  helper.getNode(id).receive(msg);
}
