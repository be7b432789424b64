import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { refuseToOverwriteTrained, RunArgs } from '../../lib/pretrain/cli-args';

describe('pretrain: refuseToOverwriteTrained', () => {
  const mk = (rest: Record<string, boolean> = {}): RunArgs => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'detex-guard-'));
    return { cache: path.join(root, 'cache'), out: path.join(root, 'out'), rest } as RunArgs;
  };

  it('should refuse a checkpoint-less run over exported weights, and allow it with a checkpoint or --from-scratch', () => {
    const a = mk();
    fs.mkdirSync(path.join(a.out, 'unet'), { recursive: true });
    fs.writeFileSync(path.join(a.out, 'unet', 'diffusion_pytorch_model.safetensors'), 'x');
    assert.throws(() => refuseToOverwriteTrained(a, 'checkpoint.safetensors', ['unet']), /already hold\(s\) trained weights.*--from-scratch/);
    assert.doesNotThrow(() => refuseToOverwriteTrained({ ...a, rest: { 'from-scratch': true } }, 'checkpoint.safetensors', ['unet']));
    fs.mkdirSync(a.cache, { recursive: true });
    fs.writeFileSync(path.join(a.cache, 'checkpoint.safetensors'), 'x');
    assert.doesNotThrow(() => refuseToOverwriteTrained(a, 'checkpoint.safetensors', ['unet']));
  });

  it('should let a first run start where nothing was exported', () => {
    assert.doesNotThrow(() => refuseToOverwriteTrained(mk(), 'checkpoint.safetensors', ['unet', 'vae']));
  });
});
