/** The ddim-sample node's attentionMaps option on the real engine (embedded detex-tiny). */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { helper, ALL_NODES, catchNode, tmpUserDir, next, send } from '../nodes/helpers';
import { removeTempDir } from '../helpers/temp-dir';
import { resetEngine, getEngine } from '../../nodes/shared/engine';
import { DetexSession, train } from '../../lib/engine';
import { subjectPhotos } from '../../lib/world';
import { tinyModelDir } from '../../lib/models/default-model';

describe('ddim-sample attentionMaps option (real engine, detex-tiny)', function () {
  this.timeout(300000);
  let saved: string | undefined;
  let userDir: string;
  before(async () => {
    saved = process.env.DETEX_NODES_ENGINE;
    delete process.env.DETEX_NODES_ENGINE;
    resetEngine();
    assert.strictEqual(getEngine().name, 'lib');
    userDir = tmpUserDir();
    const s = await DetexSession.open(tinyModelDir());
    try {
      const sd = await s.sd();
      const size = (sd.unet.config.raw.sample_size as number) * sd.vae.scaleFactor;
      const scenes = subjectPhotos('blob-pink-plain-none-ears', 2, 0, { size });
      await train(s, {
        images: scenes.map((x) => x.image), masks: scenes.map((x) => x.mask), className: 'blob',
        conceptPath: path.join(userDir, 'detex', 'concepts', 'blob.safetensors'), steps: 1, seed: 0, options: { batchSize: 2, lambdaPr: 0 },
      });
    } finally {
      await s.dispose();
    }
  });
  after(async () => {
    await helper.unload();
    if (userDir) removeTempDir(userDir);
    if (saved !== undefined) process.env.DETEX_NODES_ENGINE = saved;
    resetEngine();
  });

  it('should put a PNG with one panel per token on the image msg, and leave it off without the option', async () => {
    const pos = (n: Record<string, unknown>) => ({ z: 'f1', x: 0, y: 0, wires: [], ...n });
    const flow = [
      { id: 'f1', type: 'tab' },
      // detex-tiny by path, for speed: the nodes' empty-folder default is detex-mini
      { id: 'm', type: 'detex-model', z: 'f1', folder: tinyModelDir() },
      pos({ id: 'ds', type: 'ddim-sample', model: 'm', steps: 2, seed: 3, concept: 'blob.safetensors', attentionMaps: true, wires: [['img'], []] }),
      pos({ id: 'img', type: 'helper' }), pos({ id: 'caught', type: 'helper' }), pos({ id: 'catch', type: 'catch', wires: [['caught']] }),
    ];
    await new Promise<void>((resolve) => helper.load([...ALL_NODES, catchNode], flow, () => resolve()));
    const errors: string[] = [];
    helper.getNode('caught').on('input', (m: { error: { message: string } }) => errors.push(m.error.message));
    let got = next('img', 120000);
    send('ds', { payload: 'a photo of a {{V}} {{class}} with {{P.1}} pose in {{B.2}} background' });
    let msg = await Promise.race([got, new Promise<never>((_, reject) => helper.getNode('caught').once('input', (m: { error: { message: string } }) => reject(new Error(m.error.message))))]);
    assert.deepStrictEqual(errors, []);
    const maps = msg.attentionMaps as { png: Buffer; tokens: Array<{ label: string; token: string; max: number }> };
    assert.deepStrictEqual(maps.tokens.map((t) => t.label), ['V', 'P.1', 'B.2']);
    const meta = await sharp(maps.png).metadata();
    assert.strictEqual(meta.width, 3 * 128 + 2 * 4);
    assert.strictEqual(meta.height, 128);
    assert.ok(Buffer.isBuffer(msg.payload));
    // chosen tokens, per msg
    got = next('img', 120000);
    send('ds', { payload: 'a photo of a {{V}} {{class}} in snow background', attentionTokens: ['V', 'snow'] });
    msg = await got;
    assert.deepStrictEqual((msg.attentionMaps as typeof maps).tokens.map((t) => t.label), ['V', 'snow']);
    // msg.attentionMaps = false turns it off
    got = next('img', 120000);
    send('ds', { payload: 'a photo of a {{V}} {{class}}', attentionMaps: false });
    msg = await got;
    assert.strictEqual(msg.attentionMaps, false, 'the msg keeps its own false, no maps added');
    assert.deepStrictEqual(errors, []);
    assert.ok(fs.existsSync(path.join(userDir, 'detex', 'concepts', 'blob.safetensors')));
  });
});
