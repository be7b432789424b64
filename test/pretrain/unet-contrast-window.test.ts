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

describe('scripts/pretrain/unet.js --contrast-timesteps (the caption contrast on a window of timesteps)', function () {
  this.timeout(180000);
  const dirs = tempDirs();

  /** Two seeded steps with the pattern contrast; the per-step logs and the checkpoint's metadata. */
  const run = (window: string[]) => {
    const out = dirs('detex-unet-window-');
    tinyUNetFolder(out, MINI, [16, 32, 32]);
    const cache = dirs('detex-unet-window-cache-');
    execFileSync(process.execPath, [
      SCRIPT, '--out', out, '--cache', cache, '--warm-start', '--channels', '16,32,32', '--batch', '4', '--steps', '2', '--warmup', '1',
      '--contrast', '0.1', '--contrast-on', 'pattern', ...window,
    ], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const log = readRunLog(cache);
    return { log, meta: readSafetensors(path.join(cache, 'checkpoint.safetensors')).metadata };
  };

  it('should compare only the items whose timestep is in the window, and record the window', function () {
    if (!fs.existsSync(path.join(MINI, 'vae', 'diffusion_pytorch_model.safetensors'))) this.skip();
    const all = run([]);
    const whole = run(['--contrast-timesteps', '0,999']);
    const none = run(['--contrast-timesteps', '0,0']);
    assert.strictEqual(all.meta.contrastTimesteps, 'all');
    assert.strictEqual(whole.meta.contrastTimesteps, '0,999');
    // the same seed draws the same batches and timesteps: the whole window is no window
    assert.deepStrictEqual(whole.log.map((l) => l.contrasted), all.log.map((l) => l.contrasted));
    assert.ok(all.log.every((l) => l.contrasted >= 1 && l.contrasted <= 4 && Number.isFinite(l.contrast)), JSON.stringify(all.log));
    // no item is drawn at t = 0 in these two steps, so the term is absent
    assert.ok(none.log.every((l) => l.contrasted === 0 && l.contrast === undefined), JSON.stringify(none.log));
  });

  it('should refuse a window without --contrast, and a bad window, before training', () => {
    const fail = (extra: string[], re: RegExp) => expectRefusal(SCRIPT, ['--out', dirs('detex-unet-window-bad-'), '--cache', dirs('detex-unet-window-bad-c-'), ...extra], re);
    fail(['--contrast-timesteps', '250,550'], /--contrast-timesteps needs --contrast/);
    fail(['--contrast', '0.1', '--contrast-timesteps', '550,250'], /--contrast-timesteps: give FIRST,LAST, whole timesteps with 0 ≤ FIRST ≤ LAST < 1000; got '550,250'/);
  });
});
