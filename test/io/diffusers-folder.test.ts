import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { componentDir, readComponentConfig, readModelIndex, resolveConfig, weightFiles } from '../../lib/io/diffusers-folder';
import { fixture } from '../helpers/fixtures';
import { removeTempDir, tempDir } from '../helpers/temp-dir';

function tmpFolder(files: Record<string, string>): string {
  const root = tempDir('detex-folder-');
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  }
  return root;
}

describe('io/diffusers-folder', () => {
  const made: string[] = [];
  const mk = (files: Record<string, string>) => {
    const d = tmpFolder(files);
    made.push(d);
    return d;
  };
  after(() => made.forEach((d) => removeTempDir(d)));

  it('should read sd-tiny/model_index.json and resolve unet, vae and scheduler folders and files', function () {
    const dir = fixture('sd-tiny');
    if (!dir) return this.skip();
    const index = readModelIndex(dir);
    assert.strictEqual(index.className, 'StableDiffusionPipeline');
    assert.deepStrictEqual(index.components.scheduler, ['diffusers', 'DDIMScheduler']);
    assert.deepStrictEqual(index.components.safety_checker, [null, null]);
    assert.strictEqual(index.extras.requires_safety_checker, false);
    assert.deepStrictEqual(weightFiles(componentDir(dir, 'unet', index)), [path.join(dir, 'unet', 'diffusion_pytorch_model.safetensors')]);
    assert.strictEqual(readComponentConfig(componentDir(dir, 'scheduler', index))._class_name, 'DDIMScheduler');
    // text_encoder is listed but its folder is not part of sd-tiny: the error names the path
    assert.throws(() => componentDir(dir, 'text_encoder', index), new RegExp(`has no folder ${path.join(dir, 'text_encoder').replace(/[/\\]/g, '.')}`));
    assert.throws(() => componentDir(dir, 'safety_checker', index), /null in model_index.json/);
    assert.throws(() => componentDir(dir, 'controlnet', index), /no component "controlnet"/);
  });

  it('should name the path when model_index.json is missing or broken', () => {
    const empty = mk({ 'x.txt': '' });
    assert.throws(() => readModelIndex(empty), new RegExp(`file not found: .*model_index.json`));
    const broken = mk({ 'model_index.json': '{oops' });
    assert.throws(() => readModelIndex(broken), /model_index.json is not valid JSON/);
    assert.throws(() => readModelIndex(path.join(empty, 'nope')), /not a directory: .*nope/);
  });

  it('should pick fp16 variants and model.safetensors, follow shard indexes, and refuse .bin with a reason', () => {
    const d = mk({
      'te/model.safetensors': '',
      'te/model.fp16.safetensors': '',
      'unet/diffusion_pytorch_model.safetensors.index.json': JSON.stringify({ weight_map: { a: 's1.safetensors', b: 's2.safetensors', c: 's1.safetensors' } }),
      'unet/s1.safetensors': '',
      'unet/s2.safetensors': '',
      'old/diffusion_pytorch_model.bin': '',
      'fp/diffusion_pytorch_model.fp16.safetensors': '',
    });
    assert.deepStrictEqual(weightFiles(path.join(d, 'te')), [path.join(d, 'te/model.safetensors')]);
    assert.deepStrictEqual(weightFiles(path.join(d, 'te'), { variant: 'fp16' }), [path.join(d, 'te/model.fp16.safetensors')]);
    assert.deepStrictEqual(weightFiles(path.join(d, 'unet')), [path.join(d, 'unet/s1.safetensors'), path.join(d, 'unet/s2.safetensors')]);
    assert.throws(() => weightFiles(path.join(d, 'old')), /only PyTorch pickle weights \(diffusion_pytorch_model.bin\); .bin\/.ckpt files are not supported/);
    assert.throws(() => weightFiles(path.join(d, 'fp')), /Found instead: diffusion_pytorch_model.fp16.safetensors \(a variant\? pass \{variant\}\)/);
    assert.throws(() => weightFiles(path.join(d, 'te'), { variant: 'bf16' }), /no diffusion_pytorch_model.bf16.safetensors or model.bf16.safetensors/);
  });

  it('should fill defaults, ignore metadata keys and warn about unknown keys', () => {
    const warnings: string[] = [];
    const c = resolveConfig({ _class_name: 'X', a: 5, extra: 1 }, { a: 1, b: 2 }, 'Thing', (m) => warnings.push(m));
    assert.deepStrictEqual(c, { a: 5, b: 2 });
    assert.deepStrictEqual(warnings, ['Thing: config keys not used and ignored: extra']);
  });
});
