import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { readSafetensors } from '../../lib/io/safetensors';
import { KV_PATTERN } from '../../lib/detex/trainer';
import { FROZEN_FILE } from '../../lib/pretrain/frozen-params';
import { tempDirs } from '../helpers/temp-dir';
import { tinyUNetFolder } from '../helpers/tiny-unet-folder';
import { DETEX_MINI as MINI, pretrainScript } from '../helpers/pretrain-paths';
import { expectRefusal } from '../helpers/script-refusal';

const SCRIPT = pretrainScript('unet.js');

describe('scripts/pretrain/unet.js --freeze-cross-kv (the K/V projections DETEX fine-tunes stay as they start)', function () {
  this.timeout(180000);
  const dirs = tempDirs();

  const unetWeights = (out: string) => readSafetensors(path.join(out, 'unet', 'diffusion_pytorch_model.safetensors')).tensors;
  const runArgs = (out: string, cache: string, extra: string[]) => ['--out', out, '--cache', cache, '--channels', '16,32,32', '--batch', '2', '--warmup', '1', '--lr', '1e-3', ...extra];
  const run = (out: string, cache: string, extra: string[]) =>
    execFileSync(process.execPath, [SCRIPT, ...runArgs(out, cache, extra)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

  it('should train everything but the attn2 K/V, keep them through a resume, and record the freeze', function () {
    if (!fs.existsSync(path.join(MINI, 'vae', 'diffusion_pytorch_model.safetensors'))) this.skip();
    const out = dirs('detex-unet-freeze-');
    tinyUNetFolder(out, MINI, [16, 32, 32]);
    const cache = dirs('detex-unet-freeze-cache-');
    const start = unetWeights(out);
    run(out, cache, ['--warm-start', '--freeze-cross-kv', '--steps', '3', '--max-steps', '2']);
    assert.ok(fs.existsSync(path.join(cache, FROZEN_FILE)), 'the starting K/V are kept beside the checkpoint');
    // a resume builds its store from the seed: the K/V must come back from the cache, not from the seed
    run(out, cache, ['--warm-start', '--freeze-cross-kv', '--steps', '3']);
    const end = unetWeights(out);
    const kv = [...start.keys()].filter((k) => KV_PATTERN.test(k));
    assert.strictEqual(kv.length, 14, `attn2 to_k/to_v weights: ${kv.join(', ')}`);
    for (const k of kv) assert.deepStrictEqual(end.get(k)!.data, start.get(k)!.data, `${k} moved`);
    const moved = [...start.keys()].filter((k) => !KV_PATTERN.test(k) && !start.get(k)!.data.every((x, i) => x === end.get(k)!.data[i]));
    assert.ok(moved.length > 100, `only ${moved.length} other tensors trained`);
    const meta = readSafetensors(path.join(cache, 'checkpoint.safetensors')).metadata;
    assert.strictEqual(meta.freezeCrossKV, 'true');
    assert.strictEqual(meta.step, '3');
    assert.ok(!meta.fingerprint.includes('attn2.to_k'), 'the frozen K/V are not trained variables');
  });

  it('should refuse to freeze seeded K/V, and a resume whose frozen weights are lost', function () {
    if (!fs.existsSync(path.join(MINI, 'vae', 'diffusion_pytorch_model.safetensors'))) this.skip();
    const fail = (out: string, cache: string, extra: string[], re: RegExp) => expectRefusal(SCRIPT, runArgs(out, cache, extra), re);
    const fresh = dirs('detex-unet-freeze-seeded-');
    tinyUNetFolder(fresh, MINI, [16, 32, 32]);
    fail(fresh, dirs('detex-unet-freeze-seeded-cache-'), ['--from-scratch', '--freeze-cross-kv', '--steps', '1'], /--freeze-cross-kv keeps trained K\/V projections; start from trained weights/);

    const out = dirs('detex-unet-freeze-lost-');
    tinyUNetFolder(out, MINI, [16, 32, 32]);
    const cache = dirs('detex-unet-freeze-lost-cache-');
    run(out, cache, ['--warm-start', '--freeze-cross-kv', '--steps', '2', '--max-steps', '1']);
    fs.rmSync(path.join(cache, FROZEN_FILE));
    fail(out, cache, ['--warm-start', '--freeze-cross-kv', '--steps', '2'], /holds a checkpoint but not frozen\.safetensors: the frozen parameters' starting weights are lost/);
  });
});
