import { strict as assert } from 'assert';
import * as zlib from 'zlib';
import sharp from 'sharp';
import {
  crc32, embedDetexMetadata, readDetexMetadata, readPngChunks, readPngText, textChunk, writePngChunks, writePngText,
} from '../../lib/io/png-metadata';

async function tinyPng(): Promise<Buffer> {
  return sharp({ create: { width: 3, height: 2, channels: 3, background: { r: 10, g: 200, b: 30 } } }).png().toBuffer();
}

describe('io/png-metadata', () => {
  it('should compute the standard CRC-32 check value of "123456789"', () => {
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  });

  it('should embed the DETEX recipe and read it back; sharp still decodes the pixels and sees the chunks', async () => {
    const png = await tinyPng();
    const meta = {
      prompt: 'a photo of a <dog> on the beach — ünïcödé 🐕',
      negative_prompt: 'blurry',
      seed: 1234567890123,
      steps: 50,
      guidance: 7.5,
      model: 'sd-v1-5',
      concept: 'my-dog',
      extra: { scheduler: 'ddim', eta: 0 },
    };
    const out = embedDetexMetadata(png, meta, 'out.png');
    assert.deepEqual(readDetexMetadata(out), meta);
    const text = readPngText(out);
    assert.equal(text.seed, '1234567890123');
    assert.equal(text.guidance, '7.5');
    const types = readPngChunks(out).map((c) => c.type);
    assert.ok(types.indexOf('iTXt') < types.indexOf('IDAT'), 'text chunks precede IDAT');
    const { data, info } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height, data[0], data[1], data[2]], [3, 2, 10, 200, 30]);
    const comments = (await sharp(out).metadata()).comments ?? [];
    assert.ok(comments.some((c) => c.keyword === 'steps' && c.text === '50'), JSON.stringify(comments));
  });

  it('should replace an older recipe instead of adding a second one', async () => {
    const once = embedDetexMetadata(await tinyPng(), { prompt: 'old', seed: 1 });
    const twice = embedDetexMetadata(once, { prompt: 'new' });
    assert.deepEqual(readDetexMetadata(twice), { prompt: 'new' });
    assert.equal(readPngText(twice).seed, '1', 'other fields are left alone');
    assert.equal(readPngChunks(twice).filter((c) => /^(tEXt|iTXt|zTXt)$/.test(c.type)).length, 3, 'prompt, seed, detex');
  });

  it('should fall back to the individual chunks when the JSON chunk is absent', async () => {
    const png = writePngText(await tinyPng(), { prompt: 'p', steps: '20' });
    assert.deepEqual(readDetexMetadata(png), { prompt: 'p', steps: 20 });
    assert.equal(readDetexMetadata(await tinyPng()), undefined);
  });

  it('should read zTXt and compressed iTXt chunks', async () => {
    const chunks = readPngChunks(await tinyPng());
    const z = { type: 'zTXt', data: Buffer.concat([Buffer.from('Comment\0\0', 'latin1'), zlib.deflateSync(Buffer.from('zipped', 'latin1'))]) };
    const i = { type: 'iTXt', data: Buffer.concat([Buffer.from('workflow\0\x01\x00en\0\0', 'latin1'), zlib.deflateSync(Buffer.from('{"ü":1}', 'utf8'))]) };
    const png = writePngChunks([chunks[0], z, i, ...chunks.slice(1)]);
    assert.deepEqual(readPngText(png), { Comment: 'zipped', workflow: '{"ü":1}' });
  });

  it('should use tEXt for Latin-1 and iTXt otherwise', () => {
    assert.equal(textChunk('a', 'café\nline').type, 'tEXt');
    assert.equal(textChunk('a', 'emoji 🐕').type, 'iTXt');
    assert.throws(() => textChunk(' bad', 'x'), /keyword " bad" is invalid/);
    assert.throws(() => textChunk('x'.repeat(80), 'x'), /keyword/);
  });

  it('should name the file and the problem for bad input', async () => {
    const png = await tinyPng();
    assert.throws(() => readPngText(Buffer.from('GIF89a....'), 'cat.gif'), /cat.gif: not a PNG file \(bad signature\)/);
    assert.throws(() => readPngText(png.subarray(0, png.length - 6), 'cut.png'), /cut.png: truncated/);
    const bad = Buffer.from(png);
    bad[20] ^= 0xff; // inside IHDR data
    assert.throws(() => readPngText(bad, 'flip.png'), /flip.png: corrupt: CRC mismatch in chunk IHDR/);
    const badJson = writePngText(png, { detex: '{not json' });
    assert.throws(() => readDetexMetadata(badJson, 'j.png'), /j.png: the "detex" text chunk is not valid JSON/);
    assert.throws(() => embedDetexMetadata(png, { seed: NaN }), /"seed" must be a finite number/);
  });
});
