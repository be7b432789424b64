import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { readSafetensors } from '../../lib/io/safetensors';
import { tempDirs } from '../helpers/temp-dir';
import { tinyUNetFolder } from '../helpers/tiny-unet-folder';
import { DETEX_MINI as MINI, pretrainScript, readRunLog } from '../helpers/pretrain-paths';
import { expectRefusal } from '../helpers/script-refusal';

const SCRIPT = pretrainScript('unet.js');

describe('scripts/pretrain/unet.js --attend (word attention) and --close-ups', function () {
  this.timeout(180000);
  const dirs = tempDirs();

  it('should add the word-attention term, log it with the attended share, and record both flags in the checkpoint', function () {
    if (!fs.existsSync(path.join(MINI, 'vae', 'diffusion_pytorch_model.safetensors'))) this.skip();
    const out = dirs('detex-unet-attend-');
    tinyUNetFolder(out, MINI, [16, 32, 32]);
    const cache = dirs('detex-unet-attend-cache-');
    const stdout = execFileSync(process.execPath, [
      SCRIPT, '--out', out, '--cache', cache, '--warm-start', '--channels', '16,32,32', '--batch', '4', '--steps', '2', '--warmup', '1',
      '--attend', '0.1', '--attend-on', 'pattern,class', '--attend-target', '0.3', '--close-ups', '0.5',
    ], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.match(stdout, /step 1\/2 loss [\d.]+ attend [\d.]+ share [\d.]+/);
    const log = readRunLog(cache);
    for (const l of log) {
      // a seeded UNet spreads attention over 77 keys: far below the target, so the hinge is target − share
      assert.ok(l.share > 0 && l.share < 0.3, `share ${l.share}`);
      assert.ok(l.attend > 0 && l.attend <= 0.6, `attend ${l.attend}`);
    }
    const meta = readSafetensors(path.join(cache, 'checkpoint.safetensors')).metadata;
    assert.strictEqual(meta.attend, '0.1');
    assert.strictEqual(meta.attendOn, 'pattern,class');
    assert.strictEqual(meta.closeUps, '0.5');
  });

  it('should refuse a bad --attend-on, --attend-target, --close-ups or --eval-every before training', () => {
    const fail = (extra: string[], re: RegExp) => expectRefusal(SCRIPT, ['--out', dirs('detex-unet-attend-bad-'), '--cache', dirs('detex-unet-attend-bad-c-'), ...extra], re);
    fail(['--attend', '0.1', '--attend-on', 'shape'], /attend one or more of pattern, class, colour; got 'shape'/);
    fail(['--attend', '0.1', '--attend-target', '1.5'], /--attend-target must be in \(0, 1\), got '1.5'/);
    fail(['--close-ups', '2'], /--close-ups must be a fraction in \[0, 1\], got '2'/);
    // evaluations run at checkpoints (every 100 steps): 750 would evaluate only at 1500, 3000, … (run 16 did)
    fail(['--eval-every', '750'], /--eval-every must be a positive multiple of the checkpoint interval 100, got '750'/);
  });
});
