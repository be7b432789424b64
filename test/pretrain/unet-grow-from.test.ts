import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { SafetensorsReader } from '../../lib/io/safetensors';
import { UNet2DConditionModel } from '../../lib/models/unet/unet';
import { ParamStore } from '../../lib/nn/params';
import { seededInitializer } from '../../lib/nn/init';
import { exportComponent } from '../../lib/pretrain/export';
import { unetConfig } from '../../scripts/pretrain/unet-config';
import { tempDirs } from '../helpers/temp-dir';
import { DETEX_MINI as MINI, pretrainScript } from '../helpers/pretrain-paths';
import { expectRefusal } from '../helpers/script-refusal';

const SCRIPT = pretrainScript('unet.js');

describe('scripts/pretrain/unet.js --widen-from / --deepen-from', function () {
  this.timeout(180000);
  const dirs = tempDirs();

  /** A folder with a seeded 16/32/32 UNet, standing for a trained one whatever width detex-mini ships. */
  const narrowUNet = (): string => {
    const dir = dirs('detex-unet-narrow-');
    const config = unetConfig([16, 32, 32]);
    const store = ParamStore.initializing(seededInitializer(3));
    UNet2DConditionModel.fromConfig(config as never, store);
    exportComponent(path.join(dir, 'unet'), config, store, { weightsFile: 'diffusion_pytorch_model.safetensors' });
    store.dispose();
    return dir;
  };

  it('should start a wider UNet from the trained one, export it at the new width, and resume from its checkpoint', function () {
    if (!fs.existsSync(path.join(MINI, 'vae', 'diffusion_pytorch_model.safetensors'))) this.skip();
    const out = dirs('detex-unet-widen-');
    for (const c of ['vae', 'text_encoder', 'tokenizer', 'scheduler']) fs.cpSync(path.join(MINI, c), path.join(out, c), { recursive: true });
    const cache = dirs('detex-unet-widen-cache-');
    const from = narrowUNet();
    const run = (extra: string[]) =>
      execFileSync(process.execPath, [SCRIPT, '--out', out, '--cache', cache, '--channels', '32,32,32', '--batch', '2', '--lr', '1e-4', '--warmup', '1', ...extra], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    const first = run(['--widen-from', from, '--steps', '2', '--max-steps', '1']);
    assert.match(first, /widened start from .*detex-unet-narrow-.*\(16\/32\/32\)/);
    assert.match(first, /widen: approximated: down_blocks\.1\.resnets\.0: /);
    assert.match(first, /UNet 32\/32\/32 × 1 layers: /);
    const r = SafetensorsReader.open(path.join(out, 'unet', 'diffusion_pytorch_model.safetensors'));
    try {
      assert.deepStrictEqual(r.info('conv_in.weight').shape, [32, 4, 3, 3]);
    } finally {
      r.close();
    }
    assert.deepStrictEqual(JSON.parse(fs.readFileSync(path.join(out, 'unet', 'config.json'), 'utf8')).block_out_channels, [32, 32, 32]);
    // with a checkpoint the flag is ignored: the run resumes
    assert.match(run(['--widen-from', from, '--steps', '2']), /resumed at step 1/);
  });

  it('should start a deeper UNet from the trained one with --deepen-from and export its per-level layers', function () {
    if (!fs.existsSync(path.join(MINI, 'vae', 'diffusion_pytorch_model.safetensors'))) this.skip();
    const out = dirs('detex-unet-deepen-');
    for (const c of ['vae', 'text_encoder', 'tokenizer', 'scheduler']) fs.cpSync(path.join(MINI, c), path.join(out, c), { recursive: true });
    const log = execFileSync(
      process.execPath,
      [SCRIPT, '--out', out, '--cache', dirs('detex-unet-deepen-cache-'), '--channels', '16,32,32', '--layers', '2,2,1', '--deepen-from', narrowUNet(), '--batch', '2', '--steps', '2', '--max-steps', '1', '--lr', '1e-4', '--warmup', '1'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    assert.match(log, /deepened start from .*detex-unet-narrow-.*\(layers_per_block 1\)/);
    assert.match(log, /UNet 16\/32\/32 × \[2,2,1\] layers: /);
    assert.deepStrictEqual(JSON.parse(fs.readFileSync(path.join(out, 'unet', 'config.json'), 'utf8')).layers_per_block, [2, 2, 1]);
    const r = SafetensorsReader.open(path.join(out, 'unet', 'diffusion_pytorch_model.safetensors'));
    try {
      assert.deepStrictEqual(r.info('up_blocks.2.resnets.2.conv1.weight').shape, [16, 32, 3, 3]);
    } finally {
      r.close();
    }
  });

  it('should refuse --widen-from together with --warm-start, and a folder without a UNet', () => {
    const fail = (extra: string[], re: RegExp) =>
      expectRefusal(SCRIPT, ['--out', dirs('detex-unet-widen-'), '--cache', dirs('detex-unet-widen-cache-'), '--channels', '96,96,96', ...extra], re);
    fail(['--widen-from', MINI, '--warm-start'], /--widen-from and --warm-start each choose the starting weights/);
    fail(['--widen-from', MINI, '--deepen-from', MINI], /--widen-from and --deepen-from each choose the starting weights/);
    fail(['--deepen-from', dirs('detex-empty-')], /--deepen-from: no trained UNet weights at /);
    fail(['--layers', '2,2'], /--layers must be one positive integer or 3 \(one per level\), got '2,2'/);
    fail(['--widen-from', dirs('detex-empty-')], /--widen-from: no trained UNet weights at /);
  });
});
