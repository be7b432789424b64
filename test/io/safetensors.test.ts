import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { SafetensorsReader, readSafetensors, writeSafetensors, SafetensorsError } from '../../lib/io/safetensors';
import { hostTensor } from '../../lib/io/host-tensor';
import { fixturesDir } from '../helpers/fixtures';
import { tempDirs } from '../helpers/temp-dir';

/** Writes a raw safetensors file from a header object and a data buffer, for corrupt-file cases. */
function writeRaw(file: string, header: unknown, data: Buffer, lengthOverride?: bigint): void {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(lengthOverride ?? BigInt(json.length));
  fs.writeFileSync(file, Buffer.concat([len, json, data]));
}

describe('safetensors', () => {
  const tmp = tempDirs();
  /** A path in a fresh folder, removed after the test. */
  const tmpFile = (name: string): string => path.join(tmp('detex-st-'), name);

  it('should round-trip every dtype with metadata', () => {
    const file = tmpFile('all.safetensors');
    writeSafetensors(
      file,
      {
        f32: hostTensor('float32', [2, 3], Float32Array.from([1, -2.5, 3, 1e-8, 65504, -0])),
        f16: { ...hostTensor('float32', [4], Float32Array.from([1, -2.5, 0.0001, 65504])), as: 'F16' },
        bf16: { ...hostTensor('float32', [3], Float32Array.from([1, -2.5, 3.140625])), as: 'BF16' },
        i64: { ...hostTensor('int32', [3], Int32Array.from([-2147483648, 0, 2147483647])), as: 'I64' },
        i32: hostTensor('int32', [2], Int32Array.from([-7, 7])),
        u8: hostTensor('uint8', [3], Uint8Array.from([0, 128, 255])),
        b: hostTensor('bool', [2], Uint8Array.from([1, 0])),
        empty: hostTensor('float32', [0, 3], new Float32Array(0)),
      },
      { format: 'pt', note: 'round trip' },
    );
    const r = SafetensorsReader.open(file);
    try {
      assert.deepStrictEqual(r.metadata, { format: 'pt', note: 'round trip' });
      assert.deepStrictEqual(r.keys().sort(), ['b', 'bf16', 'empty', 'f16', 'f32', 'i32', 'i64', 'u8']);
      assert.deepStrictEqual(Array.from(r.read('f32').data), Array.from(Float32Array.from([1, -2.5, 3, 1e-8, 65504, -0])));
      const f16 = r.read('f16');
      assert.strictEqual(r.info('f16').dtype, 'F16');
      assert.strictEqual(f16.dtype, 'float32');
      [1, -2.5, 0.0001, 65504].forEach((want, i) => assert.ok(Math.abs(f16.data[i] - want) <= Math.abs(want) * 1e-3, `f16[${i}] = ${f16.data[i]}`));
      assert.deepStrictEqual(Array.from(r.read('bf16').data), [1, -2.5, 3.140625]);
      assert.deepStrictEqual(Array.from(r.read('i64').data), [-2147483648, 0, 2147483647]);
      assert.strictEqual(r.read('i64').dtype, 'int32');
      assert.deepStrictEqual(Array.from(r.read('u8').data), [0, 128, 255]);
      assert.deepStrictEqual(r.read('b'), hostTensor('bool', [2], Uint8Array.from([1, 0])));
      assert.deepStrictEqual(r.read('empty').shape, [0, 3]);
    } finally {
      r.close();
    }
    // Header JSON is padded to a multiple of 8, like the reference writer.
    const n = Number(fs.readFileSync(file).readBigUInt64LE(0));
    assert.strictEqual(n % 8, 0);
  });

  it('should refuse an I64 value that does not fit int32, naming the tensor', () => {
    const file = tmpFile('big.safetensors');
    const data = Buffer.alloc(8);
    data.writeBigInt64LE(2n ** 40n);
    writeRaw(file, { ids: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, data);
    assert.throws(() => readSafetensors(file), /ids.*does not fit int32/);
  });

  const corrupt: Array<[string, (f: string) => void, RegExp]> = [
    ['a file shorter than 8 bytes', (f) => fs.writeFileSync(f, Buffer.from([1, 2, 3])), /fewer than the 8-byte/],
    ['a header length past the end', (f) => writeRaw(f, {}, Buffer.alloc(0), 1000n), /runs past the end/],
    ['a header length over the limit', (f) => writeRaw(f, {}, Buffer.alloc(0), 2n ** 40n), /exceeds the .* limit/],
    ['a header that is not JSON', (f) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(4n); fs.writeFileSync(f, Buffer.concat([b, Buffer.from('{{{{')])); }, /not valid JSON/],
    ['a truncated data section', (f) => writeRaw(f, { x: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, Buffer.alloc(8)), /truncated/],
    ['overlapping offsets', (f) => writeRaw(f, { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, Buffer.alloc(12)), /"a" and "b" overlap/],
    ['a length that disagrees with dtype×shape', (f) => writeRaw(f, { x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, Buffer.alloc(8)), /needs 12 bytes but data_offsets span 8/],
    ['an unknown dtype', (f) => writeRaw(f, { x: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, Buffer.alloc(8)), /dtype "C64" is not supported/],
    ['a negative shape', (f) => writeRaw(f, { x: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, Buffer.alloc(4)), /shape/],
  ];
  for (const [what, make, message] of corrupt) {
    it(`should give a clear error for ${what}`, () => {
      const file = tmpFile('bad.safetensors');
      make(file);
      assert.throws(() => SafetensorsReader.open(file), (e: Error) => e instanceof SafetensorsError && message.test(e.message) && e.message.includes(file));
    });
  }

  it('should name the file when it does not exist', () => {
    assert.throws(() => SafetensorsReader.open('/nonexistent/x.safetensors'), /\/nonexistent\/x\.safetensors: cannot open \(ENOENT\)/);
  });

  it('should leave no temp file behind and keep the old file when a write fails', () => {
    const file = tmpFile('keep.safetensors');
    writeSafetensors(file, { a: hostTensor('float32', [1], Float32Array.from([1])) });
    const before = fs.readFileSync(file);
    assert.throws(() => writeSafetensors(file, { a: { dtype: 'float32', shape: [2], data: Float32Array.from([1]) } }), /needs 2 values/);
    assert.deepStrictEqual(fs.readFileSync(file), before);
    assert.deepStrictEqual(fs.readdirSync(path.dirname(file)), ['keep.safetensors']);
  });

  it('should read every fixture file written by the Python reference tools', function () {
    const dir = fixturesDir();
    if (!dir) return this.skip();
    const files: string[] = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith('.safetensors')) files.push(p);
      }
    };
    walk(dir);
    assert.ok(files.length > 20, `found only ${files.length} safetensors files`);
    for (const f of files) {
      const r = SafetensorsReader.open(f);
      try {
        for (const k of r.keys()) {
          const t = r.read(k);
          assert.strictEqual(t.data.length, t.shape.reduce((a, b) => a * b, 1), `${f}:${k}`);
        }
      } finally {
        r.close();
      }
    }
    // One known value: SD-tiny's UNet has diffusers' parameter names and float32 data.
    const unet = SafetensorsReader.open(path.join(dir, 'sd-tiny', 'unet', 'diffusion_pytorch_model.safetensors'));
    try {
      assert.strictEqual(unet.keys().length, 304);
      assert.deepStrictEqual(unet.info('down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight').shape.length, 2);
    } finally {
      unet.close();
    }
  });
});
