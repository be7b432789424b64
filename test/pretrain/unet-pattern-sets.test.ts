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

describe('scripts/pretrain/unet.js --pattern-sets, --pattern-weight and --attribute-head', function () {
  this.timeout(180000);
  const dirs = tempDirs();

  it('should train on pattern sets with the pattern-weighted loss and the attribute head, log the head, and export the UNet alone', function () {
    if (!fs.existsSync(path.join(MINI, 'vae', 'diffusion_pytorch_model.safetensors'))) this.skip();
    const out = dirs('detex-unet-sets-');
    tinyUNetFolder(out, MINI, [16, 32, 32]);
    const cache = dirs('detex-unet-sets-cache-');
    const stdout = execFileSync(process.execPath, [
      SCRIPT, '--out', out, '--cache', cache, '--warm-start', '--channels', '16,32,32', '--batch', '8', '--steps', '2', '--warmup', '1',
      '--pattern-sets', '--pattern-weight', '4', '--attribute-head', '0.5', '--head-at', 'mid_block',
    ], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.match(stdout, /step 1\/2 loss [\d.]+ head [\d.]+ headClass [\d.]+ headColour [\d.]+ headPattern [\d.]+/);
    const log = readRunLog(cache);
    // the head starts at uniform guesses over 7 classes, 10 colours and 4 patterns
    const uniform = (Math.log(7) + Math.log(10) + Math.log(4)) / 3;
    assert.ok(Math.abs(log[0].head - uniform) < 1e-3, `first head loss ${log[0].head}, uniform ${uniform}`);
    assert.ok(log[1].head > 0 && log[1].head < uniform + 0.5, `second head loss ${log[1].head}`);
    const ckpt = readSafetensors(path.join(cache, 'checkpoint.safetensors'));
    assert.strictEqual(ckpt.metadata.patternSets, 'true');
    assert.strictEqual(ckpt.metadata.patternWeight, '4');
    assert.strictEqual(ckpt.metadata.attributeHead, '0.5');
    assert.strictEqual(ckpt.metadata.headAt, 'mid_block');
    assert.ok([...ckpt.tensors.keys()].some((k) => k.includes('attribute_head/')), 'the head resumes with the run');
    const exported = readSafetensors(path.join(out, 'unet', 'diffusion_pytorch_model.safetensors'));
    assert.ok(![...exported.tensors.keys()].some((k) => k.includes('attribute_head')), 'the head is not part of the model');
  });

  it('should refuse flags that do not fit together, before training', () => {
    const fail = (extra: string[], re: RegExp) => expectRefusal(SCRIPT, ['--out', dirs('detex-unet-sets-bad-'), '--cache', dirs('detex-unet-sets-bad-c-'), ...extra], re);
    fail(['--pattern-sets', '--batch', '6'], /--pattern-sets needs a --batch that is a multiple of 4, got 6/);
    fail(['--pattern-weight', '3'], /--pattern-weight needs --pattern-sets/);
    fail(['--pattern-sets', '--pattern-weight', '3', '--fg-weight', '2'], /--pattern-weight and --fg-weight each weigh the loss; pass one/);
    fail(['--pattern-weight', '0.5'], /--pattern-weight must be a number ≥ 1, got '0.5'/);
    fail(['--attribute-head=-1'], /--attribute-head must be a number ≥ 0/);
    fail(['--attribute-head', '0.1', '--attend', '0.1'], /--attribute-head and --attend each change the forward pass; pass one/);
  });
});
