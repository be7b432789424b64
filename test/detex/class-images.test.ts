/** Class images for L_pr: DDIM generation with the tiny base model, the disk cache and its key, corruption, user folders. */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { ClassImageOptions, classImageCachePath, classImages, classImagesFromFolder } from '../../lib/detex/class-images';
import { centerCropResize } from '../../lib/detex/data';
import { readSafetensors } from '../../lib/io/safetensors';
import { hostTensor } from '../../lib/io/host-tensor';
import { writePng } from '../../lib/io/image';
import { expectNoLeak } from '../helpers/leak';
import { loadTiny, tinyAvailable, TinyModels } from './tiny-models';
import { removeTempDir, tempDir } from '../helpers/temp-dir';

describe('detex/class-images', function () {
  this.timeout(120000);
  let m: TinyModels;
  let tmp: string;
  before(async function () {
    if (!tinyAvailable()) this.skip();
    m = await loadTiny();
    tmp = tempDir('detex-cls-');
  });
  after(() => {
    m?.dispose();
    if (tmp) removeTempDir(tmp);
  });

  const opts = (o: Partial<ClassImageOptions> = {}): ClassImageOptions => ({ classWord: 'dog', count: 2, resolution: 64, modelId: 'a'.repeat(64), cacheDir: tmp, steps: 2, ...o });
  /** runs classImages, returning its pixels, how many images it generated, and its warnings */
  const run = async (o: ClassImageOptions) => {
    let made = 0;
    const warnings: string[] = [];
    const data = await expectNoLeak(async () => {
      const t = await classImages(m, { ...o, onProgress: (d) => (made = d), warn: (w) => warnings.push(w) });
      assert.deepStrictEqual(t.shape, [o.count, o.resolution, o.resolution, 3]);
      const d = t.dataSync().slice() as Float32Array;
      t.dispose();
      return d;
    });
    return { data, made, warnings };
  };
  const bytes = (d: Float32Array) => Buffer.from(d.buffer);

  it('should generate once with DDIM, then read the same pixels back from the cache bit-identically', async () => {
    const a = await run(opts());
    assert.strictEqual(a.made, 2);
    const file = classImageCachePath(opts());
    assert.ok(fs.existsSync(file), file);
    const f = readSafetensors(file);
    assert.deepStrictEqual([f.tensors.get('images')!.dtype, f.metadata.prompt, f.metadata.steps, f.metadata.guidance, f.metadata.seed], ['uint8', 'a dog', '2', '6', '0']);
    assert.ok(a.data.some((v) => v > 0.05 && v < 0.95), 'generated images are not blank');
    const b = await run(opts());
    assert.deepStrictEqual([b.made, b.warnings], [0, []], 'the second call reads the cache and generates nothing');
    assert.ok(bytes(b.data).equals(bytes(a.data)));
  });

  it('should key the cache by DDIM steps, guidance, resolution, seed and count, and regenerate when one changes', async () => {
    const base = classImageCachePath(opts());
    const base0 = await run(opts());
    for (const o of [{ steps: 3 }, { guidanceScale: 2 }, { seed: 5 }, { count: 1 }, { resolution: 32 }] as Partial<ClassImageOptions>[]) {
      const p = classImageCachePath(opts(o));
      assert.notStrictEqual(p, base, JSON.stringify(o));
      const r = await run(opts(o));
      assert.strictEqual(r.made, opts(o).count, `${JSON.stringify(o)} regenerated`);
      assert.ok(fs.existsSync(p));
      if (o.steps || o.guidanceScale || o.seed) assert.ok(!bytes(r.data).equals(bytes(base0.data)), `${JSON.stringify(o)} gives other pixels`);
    }
    assert.match(classImageCachePath(opts({ steps: 3 })), /ddim3/);
  });

  it('should detect a truncated or altered cache file, warn, and regenerate the same images', async () => {
    const file = classImageCachePath(opts());
    const good = await run(opts());
    const orig = fs.readFileSync(file);
    // truncated
    fs.writeFileSync(file, orig.subarray(0, orig.length - 100));
    const t = await run(opts());
    assert.strictEqual(t.made, 2);
    assert.strictEqual(t.warnings.length, 1);
    assert.match(t.warnings[0], /cache file .* unreadable|holds no/);
    assert.ok(bytes(t.data).equals(bytes(good.data)));
    assert.ok(fs.readFileSync(file).equals(orig), 'the rewritten file equals the first one');
    // one pixel changed: the checksum tells
    const bad = Buffer.from(orig);
    bad[bad.length - 7] ^= 0x5a;
    fs.writeFileSync(file, bad);
    const c = await run(opts());
    assert.deepStrictEqual([c.made, c.warnings.length], [2, 1]);
    assert.match(c.warnings[0], /checksum/);
    assert.ok(bytes(c.data).equals(bytes(good.data)));
  });

  it('should stop generating on an aborted signal, free its tensors and write no cache file', async () => {
    const o = opts({ count: 6, cacheDir: path.join(tmp, 'abort') });
    const ac = new AbortController();
    await expectNoLeak(() =>
      assert.rejects(classImages(m, { ...o, signal: ac.signal, onProgress: (d) => d === 1 && ac.abort() }), (e: Error) => e.name === 'AbortError'),
    );
    assert.ok(!fs.existsSync(classImageCachePath(o)));
  });

  it('should read a user folder of pictures: name order, centre crop + resize, the first `count`', async () => {
    const dir = path.join(tmp, 'user');
    fs.mkdirSync(dir);
    const pics = [0, 1, 2].map((k) => hostTensor('uint8', [48, 80, 3], Uint8Array.from({ length: 48 * 80 * 3 }, (_, i) => (i * (k + 3) + 17 * k) % 256)));
    for (const [k, p] of pics.entries()) await writePng(path.join(dir, `c${k}.png`), p);
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not a picture');
    const warnings: string[] = [];
    const got = await expectNoLeak(async () => {
      const t = await classImagesFromFolder(dir, { resolution: 32, count: 2, warn: (w) => warnings.push(w) });
      const d = { shape: t.shape, data: t.dataSync().slice() };
      t.dispose();
      return d;
    });
    assert.deepStrictEqual(got.shape, [2, 32, 32, 3]);
    assert.strictEqual(warnings.length, 0);
    const want = tf.tidy(() => tf.stack(pics.slice(0, 2).map((p) => centerCropResize(tf.div(tf.tensor3d(Float32Array.from(p.data), [48, 80, 3]), 255) as tf.Tensor3D, 32))).dataSync());
    let err = 0;
    got.data.forEach((v, i) => (err = Math.max(err, Math.abs(v - want[i]))));
    assert.ok(err < 1e-6, `max err ${err}`);
    const all = await classImagesFromFolder(dir, { resolution: 32, count: 5, warn: (w) => warnings.push(w) });
    assert.strictEqual(all.shape[0], 3);
    all.dispose();
    assert.match(warnings[0], /3 pictures, fewer than the 5/);
    await assert.rejects(classImagesFromFolder(path.join(tmp, 'nope'), { resolution: 32, count: 1 }), /not a folder/);
  });
});
