import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { hostTensor, HostTensor } from '../../lib/io/host-tensor';
import { readSafetensors, SafetensorsReader, writeSafetensors } from '../../lib/io/safetensors';
import { transplantKV } from '../../lib/pretrain/transplant-kv';
import { KV_PATTERN } from '../../lib/detex/trainer';
import { tempDirs } from '../helpers/temp-dir';
import { tinyUNetFolder } from '../helpers/tiny-unet-folder';
import { DETEX_MINI as MINI, pretrainScript } from '../helpers/pretrain-paths';
import { expectRefusal } from '../helpers/script-refusal';

const KV = 'down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight';
const Q = 'down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_q.weight';
const SELF_K = 'down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_k.weight';
const filled = (v: number, shape = [2, 3]): HostTensor => hostTensor('float32', shape, new Float32Array(shape[0] * shape[1]).fill(v));

describe('lib/pretrain/transplant-kv', () => {
  it('should take only the cross-attention K/V from the source', () => {
    const into = new Map([[KV, filled(1)], [Q, filled(1)], [SELF_K, filled(1)]]);
    const from = new Map([[KV, filled(2)], [Q, filled(2)], [SELF_K, filled(2)]]);
    const { tensors, moved } = transplantKV(into, from);
    assert.deepStrictEqual(moved, [KV]);
    assert.strictEqual(tensors.get(KV)!.data[0], 2);
    assert.strictEqual(tensors.get(Q)!.data[0], 1, 'attn2.to_q stays');
    assert.strictEqual(tensors.get(SELF_K)!.data[0], 1, 'attn1 K/V stay');
  });

  it('should refuse a source of another config, naming the weight', () => {
    assert.throws(() => transplantKV(new Map([[KV, filled(1)]]), new Map([[KV, filled(2, [3, 3])]])), /attn2\.to_k\.weight is \[3,3\] in the K\/V source but \[2,3\] in the UNet/);
    assert.throws(() => transplantKV(new Map([[KV, filled(1)]]), new Map()), /the K\/V source has no down_blocks\.0\.attentions\.0\.transformer_blocks\.0\.attn2\.to_k\.weight/);
    assert.throws(() => transplantKV(new Map([[Q, filled(1)]]), new Map([[Q, filled(1)]])), /has no attn2\.to_k \/ attn2\.to_v weights/);
  });
});

describe('scripts/pretrain/transplant-kv.js', function () {
  this.timeout(60000);
  const dirs = tempDirs();
  const SCRIPT = pretrainScript('transplant-kv.js');
  const weights = (dir: string) => path.join(dir, 'unet', 'diffusion_pytorch_model.safetensors');

  it('should write a copy of --into with --kv-from\'s K/V, stored as --into stores its weights, and refuse an existing --out', function () {
    if (!fs.existsSync(path.join(MINI, 'vae', 'diffusion_pytorch_model.safetensors'))) this.skip();
    const into = dirs('detex-transplant-into-');
    tinyUNetFolder(into, MINI, [16, 32, 32]);
    // a K/V source: the same UNet doubled (exact in F16)
    const kvFrom = dirs('detex-transplant-from-');
    fs.mkdirSync(path.join(kvFrom, 'unet'));
    const base = readSafetensors(weights(into));
    writeSafetensors(weights(kvFrom), new Map([...base.tensors].map(([k, t]) => [k, { ...t, data: t.data.map((x) => 2 * x), as: 'F16' as const }])));
    const out = path.join(dirs('detex-transplant-out-'), 'model');
    const stdout = execFileSync(process.execPath, [SCRIPT, '--into', into, '--kv-from', kvFrom, '--out', out], { encoding: 'utf8' });
    assert.match(stdout, /with the 14 attn2 K\/V weights of/);
    const got = readSafetensors(weights(out));
    for (const [k, t] of base.tensors) {
      const kv = KV_PATTERN.test(k);
      assert.ok(got.tensors.get(k)!.data.every((x, i) => x === (kv ? 2 : 1) * t.data[i]), `${k} is not ${kv ? '--kv-from' : '--into'}'s`);
    }
    const r = SafetensorsReader.open(weights(out));
    try {
      assert.ok(r.keys().every((k) => r.info(k).dtype === 'F16'), 'stored as F16, as --into');
    } finally {
      r.close();
    }
    assert.strictEqual(got.metadata.kvFrom, path.resolve(kvFrom));
    assert.ok(fs.existsSync(path.join(out, 'vae', 'diffusion_pytorch_model.safetensors')), 'every other component is copied');
    const fail = (args: string[], re: RegExp) => expectRefusal(SCRIPT, args, re);
    fail(['--into', into, '--kv-from', kvFrom, '--out', out], /--out .* exists; pick a new folder/);
    const empty = dirs('detex-transplant-empty-');
    const again = path.join(empty, 'model');
    fail(['--into', into, '--kv-from', empty, '--out', again], /--kv-from .* has no unet\/diffusion_pytorch_model\.safetensors/);
    assert.deepStrictEqual(fs.readdirSync(empty), [], 'a failed run leaves nothing behind');
  });
});
