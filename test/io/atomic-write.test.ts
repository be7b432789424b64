import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic, writeFileAtomicAsync } from '../../lib/io/atomic-write';
import { removeTempDir, tempDir } from '../helpers/temp-dir';

describe('io/atomic-write', () => {
  let dir: string;
  beforeEach(() => { dir = tempDir('detex-atomic-'); });
  afterEach(() => { removeTempDir(dir); });

  it('should write a string, then replace it, leaving no temp files', async () => {
    const p = path.join(dir, 'a.txt');
    await writeFileAtomicAsync(p, 'first');
    await writeFileAtomicAsync(p, 'second');
    assert.equal(fs.readFileSync(p, 'utf8'), 'second');
    assert.deepEqual(fs.readdirSync(dir), ['a.txt']);
  });

  it('should accept any iterable of chunks (the safetensors writer passes a generator)', () => {
    const p = path.join(dir, 'g.bin');
    function* gen(): Generator<Uint8Array> { yield new Uint8Array([7]); yield Buffer.from([8, 9]); }
    writeFileAtomic(p, gen());
    assert.deepEqual([...fs.readFileSync(p)], [7, 8, 9]);
  });

  it('should write several typed-array chunks in order (sync and async)', async () => {
    const p = path.join(dir, 'b.bin');
    const f = new Float32Array([1.5, -2]);
    await writeFileAtomicAsync(p, [new Uint8Array([1, 2, 3]), f]);
    const got = fs.readFileSync(p);
    assert.equal(got.length, 3 + 8);
    assert.deepEqual([...got.subarray(0, 3)], [1, 2, 3]);
    assert.equal(got.readFloatLE(3), 1.5);
    writeFileAtomic(p, Buffer.from('xy'));
    assert.equal(fs.readFileSync(p, 'utf8'), 'xy');
  });

  it('should fail naming the target and remove its temp file when the rename fails', async () => {
    const target = path.join(dir, 'sub');
    fs.mkdirSync(path.join(target, 'nonempty'), { recursive: true });
    // Renaming a file over a non-empty directory fails on every platform.
    await assert.rejects(writeFileAtomicAsync(target, 'x'), (e: Error) => e.message.includes(target));
    assert.throws(() => writeFileAtomic(target, 'x'), (e: Error) => e.message.includes(target));
    assert.deepEqual(fs.readdirSync(dir), ['sub']);
  });

  it('should fail naming the target when the folder does not exist', async () => {
    const p = path.join(dir, 'missing', 'c.txt');
    await assert.rejects(writeFileAtomicAsync(p, 'x'), (e: Error) => e.message.includes(p));
  });
});
