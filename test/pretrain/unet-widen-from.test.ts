import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { SafetensorsReader } from '../../lib/io/safetensors';
import { tempDirs } from '../helpers/temp-dir';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const MINI = path.join(ROOT, 'models', 'detex-mini');
const SCRIPT = path.join(ROOT, 'dist', 'scripts', 'pretrain', 'unet.js');

describe('scripts/pretrain/unet.js --widen-from', function () {
  this.timeout(180000);
  const dirs = tempDirs();

  it('should start a wider UNet from the trained one, export it at the new width, and resume from its checkpoint', function () {
    if (!fs.existsSync(path.join(MINI, 'unet', 'diffusion_pytorch_model.safetensors'))) this.skip();
    const out = dirs('detex-unet-widen-');
    for (const c of ['vae', 'text_encoder', 'tokenizer', 'scheduler']) fs.cpSync(path.join(MINI, c), path.join(out, c), { recursive: true });
    const cache = dirs('detex-unet-widen-cache-');
    const run = (extra: string[]) =>
      execFileSync(process.execPath, [SCRIPT, '--out', out, '--cache', cache, '--channels', '96,96,96', '--batch', '2', '--lr', '1e-4', '--warmup', '1', ...extra], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    const first = run(['--widen-from', MINI, '--steps', '2', '--max-steps', '1']);
    assert.match(first, /widened start from .*detex-mini.*\(48\/96\/96\)/);
    assert.match(first, /widen: approximated: down_blocks\.1\.resnets\.0: /);
    assert.match(first, /UNet 96\/96\/96: 4\.\d+M parameters/);
    const r = SafetensorsReader.open(path.join(out, 'unet', 'diffusion_pytorch_model.safetensors'));
    try {
      assert.deepStrictEqual(r.info('conv_in.weight').shape, [96, 4, 3, 3]);
    } finally {
      r.close();
    }
    assert.deepStrictEqual(JSON.parse(fs.readFileSync(path.join(out, 'unet', 'config.json'), 'utf8')).block_out_channels, [96, 96, 96]);
    // with a checkpoint the flag is ignored: the run resumes
    assert.match(run(['--widen-from', MINI, '--steps', '2']), /resumed at step 1/);
  });

  it('should refuse --widen-from together with --warm-start, and a folder without a UNet', () => {
    const fail = (extra: string[], re: RegExp) =>
      assert.throws(
        () => execFileSync(process.execPath, [SCRIPT, '--out', dirs('detex-unet-widen-'), '--cache', dirs('detex-unet-widen-cache-'), '--channels', '96,96,96', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] }),
        (e: Error & { stderr?: Buffer }) => re.test(String(e.stderr)),
      );
    fail(['--widen-from', MINI, '--warm-start'], /--widen-from and --warm-start both choose/);
    fail(['--widen-from', dirs('detex-empty-')], /--widen-from: no trained UNet weights at /);
  });
});
