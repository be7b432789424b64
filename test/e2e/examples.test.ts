/**
 * The example flows in real headless Node-RED runtimes: HTTP (with httpNodeAuth) and MQTT through
 * a mosquitto broker on loopback, including two runtimes sharing one job topic via an MQTT v5
 * shared subscription. The fake engine (see test/nodes) keeps each job to milliseconds.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { example, startRuntime, mosquittoForSuite, Runtime } from './runtime';
import { readDetexMetadata } from '../../lib/io/png-metadata';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const bcrypt = require('bcryptjs');
// eslint-disable-next-line @typescript-eslint/no-var-requires
const mqtt = require('mqtt');

async function png(): Promise<Buffer> {
  return sharp(Buffer.alloc(8 * 8 * 3, 90), { raw: { width: 8, height: 8, channels: 3 } }).png().toBuffer();
}

describe('example flows in a headless Node-RED', function () {
  this.timeout(90000);
  const runtimes: Runtime[] = [];
  after(async () => {
    await Promise.all(runtimes.map((r) => r.stop()));
  });

  it('should train over HTTP (multipart upload) and answer a generate POST with a PNG, behind httpNodeAuth', async () => {
    const hash = bcrypt.hashSync('secret', 8);
    const rt = await startRuntime(example('02'), { settings: `httpNodeAuth: { user: 'detex', pass: '${hash}' }` });
    runtimes.push(rt);
    const base = `http://127.0.0.1:${rt.port}`;
    const auth = { authorization: 'Basic ' + Buffer.from('detex:secret').toString('base64') };
    const form = new FormData();
    form.append('class', 'dog');
    form.append('images', new Blob([await png()], { type: 'image/png' }), 'a.png');
    form.append('images', new Blob([await png()], { type: 'image/png' }), 'b.png');
    const denied = await fetch(`${base}/detex/train`, { method: 'POST', body: form });
    assert.strictEqual(denied.status, 401);
    const tr = await fetch(`${base}/detex/train`, { method: 'POST', body: form, headers: auth });
    const trained = (await tr.json()) as { concept: string };
    assert.strictEqual(tr.status, 200, JSON.stringify(trained));
    assert.strictEqual(trained.concept, 'dog.detex.safetensors');

    const gen = await fetch(`${base}/detex/generate`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'a photo of {{V}} {{class}} in snow', concept: trained.concept, seed: 5 }),
    });
    assert.strictEqual(gen.status, 200);
    assert.strictEqual(gen.headers.get('content-type'), 'image/png');
    const meta = readDetexMetadata(new Uint8Array(await gen.arrayBuffer()));
    assert.strictEqual(meta?.seed, 5);
    assert.strictEqual(meta?.prompt, 'a photo of <S*> dog in snow');

    // bad input: an upload that is not an image, and an escaping concept → 400 with the reason; the runtime lives on
    const bad = new FormData();
    bad.append('class', 'dog');
    bad.append('images', new Blob([Buffer.from('hello')], { type: 'image/png' }), 'x.png');
    const r1 = await fetch(`${base}/detex/train`, { method: 'POST', body: bad, headers: auth });
    assert.strictEqual(r1.status, 400);
    assert.match(((await r1.json()) as { error: string }).error, /not a PNG, JPEG or WebP/);
    const r2 = await fetch(`${base}/detex/generate`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'x', concept: '../../flows.json' }) });
    assert.strictEqual(r2.status, 400);
    assert.match(((await r2.json()) as { error: string }).error, /\.\./);
    assert.ok(fs.existsSync(path.join(rt.userDir, 'detex', 'concepts', 'dog.detex.safetensors')));
  });

  describe('over MQTT', function () {
    const brokerPort = mosquittoForSuite();

    function withBroker(flow: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
      return flow.map((n) => (n.type === 'mqtt-broker' ? { ...n, broker: '127.0.0.1', port: String(brokerPort()) } : n));
    }

    async function client(): Promise<{ c: { publish: Function; subscribe: Function; on: Function; end: Function } }> {
      const c = mqtt.connect(`mqtt://127.0.0.1:${brokerPort()}`, { protocolVersion: 5 });
      await new Promise((r, j) => {
        c.once('connect', r);
        c.once('error', j);
      });
      return { c };
    }

    async function subscribed(rt: Runtime): Promise<void> {
      const end = Date.now() + 15000;
      while (!rt.log.join('').includes('Connected to broker')) {
        if (Date.now() > end) throw new Error('runtime did not connect to the broker:\n' + rt.log.join(''));
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 300)); // the subscription follows the connection
    }

    it('should run a job published on a topic and publish the PNG back', async () => {
      const rt = await startRuntime(withBroker(example('03')), { env: { DETEX_WORKER: 'w1' } });
      runtimes.push(rt);
      await subscribed(rt);
      const { c } = await client();
      await new Promise((r) => c.subscribe('detex/#', r));
      const got = new Promise<[string, Buffer]>((r) => c.on('message', (t: string, p: Buffer) => t.startsWith('detex/results') && r([t, p])));
      c.publish('detex/jobs', JSON.stringify({ id: 'j1', prompt: 'a red cube', seed: 3 }));
      const [topic, payload] = await got;
      assert.strictEqual(topic, 'detex/results/j1/w1');
      assert.strictEqual(readDetexMetadata(payload)?.prompt, 'a red cube');
      const err = new Promise<[string, Buffer]>((r) => c.on('message', (t: string, p: Buffer) => t.startsWith('detex/errors') && r([t, p])));
      c.publish('detex/jobs', JSON.stringify({ id: 'j2', prompt: 'x', concept: '/etc/passwd' }));
      const [et, ep] = await err;
      assert.strictEqual(et, 'detex/errors/j2');
      assert.match(String(ep), /absolute/);
      c.end();
      await rt.stop();
    });

    it('should share one job topic between two runtimes (MQTT v5 $share), each job done exactly once', async () => {
      const flow = withBroker(example('04'));
      const [a, b] = await Promise.all([
        startRuntime(flow, { env: { DETEX_WORKER: 'A', FAKE_STEP_MS: '5' } }),
        startRuntime(flow, { env: { DETEX_WORKER: 'B', FAKE_STEP_MS: '5' } }),
      ]);
      runtimes.push(a, b);
      await Promise.all([subscribed(a), subscribed(b)]);
      const { c } = await client();
      await new Promise((r) => c.subscribe('detex/results/#', r));
      const results: string[] = [];
      const N = 12;
      const all = new Promise<void>((r) =>
        c.on('message', (t: string) => {
          results.push(t);
          if (results.length >= N) r();
        }),
      );
      for (let i = 0; i < N; i++) c.publish('detex/jobs', JSON.stringify({ id: `job${i}`, prompt: `p${i}`, seed: i }), { qos: 1 });
      await all;
      await new Promise((r) => setTimeout(r, 500)); // a duplicate would arrive by now
      const ids = results.map((t) => t.split('/')[2]);
      assert.strictEqual(new Set(ids).size, N, `each job once: ${results.join(', ')}`);
      assert.strictEqual(results.length, N, `no duplicates: ${results.join(', ')}`);
      const workers = new Set(results.map((t) => t.split('/')[3]));
      assert.deepStrictEqual([...workers].sort(), ['A', 'B'], 'both runtimes took jobs');
      c.end();
    });
  });
});
