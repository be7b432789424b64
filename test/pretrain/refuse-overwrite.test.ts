import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { hostTensor } from '../../lib/io/host-tensor';
import { writeSafetensors } from '../../lib/io/safetensors';
import { initialStore, refuseToOverwriteTrained, RunArgs } from '../../lib/pretrain/cli-args';
import { tempDirs } from '../helpers/temp-dir';

describe('pretrain: refuseToOverwriteTrained', () => {
  const tmp = tempDirs();
  const mk = (rest: Record<string, boolean> = {}): RunArgs => {
    const root = tmp('detex-guard-');
    return { cache: path.join(root, 'cache'), out: path.join(root, 'out'), rest } as RunArgs;
  };

  it('should refuse a checkpoint-less run over exported weights, and allow it with a checkpoint or --from-scratch', () => {
    const a = mk();
    fs.mkdirSync(path.join(a.out, 'unet'), { recursive: true });
    fs.writeFileSync(path.join(a.out, 'unet', 'diffusion_pytorch_model.safetensors'), 'x');
    assert.throws(() => refuseToOverwriteTrained(a, 'checkpoint.safetensors', ['unet']), /already hold\(s\) trained weights.*--from-scratch/);
    assert.doesNotThrow(() => refuseToOverwriteTrained({ ...a, rest: { 'from-scratch': true } }, 'checkpoint.safetensors', ['unet']));
    assert.doesNotThrow(() => refuseToOverwriteTrained({ ...a, rest: { 'warm-start': true } }, 'checkpoint.safetensors', ['unet']));
    fs.mkdirSync(a.cache, { recursive: true });
    fs.writeFileSync(path.join(a.cache, 'checkpoint.safetensors'), 'x');
    assert.doesNotThrow(() => refuseToOverwriteTrained(a, 'checkpoint.safetensors', ['unet']));
  });

  it('should let a first run start where nothing was exported', () => {
    assert.doesNotThrow(() => refuseToOverwriteTrained(mk(), 'checkpoint.safetensors', ['unet', 'vae']));
  });

  it('--warm-start builds from the exported weights until a checkpoint exists; otherwise fresh seeded weights', () => {
    const before = tf.memory().numTensors;
    const a = { ...mk(), rest: { 'warm-start': true } } as RunArgs;
    const file = path.join(a.out, 'w.safetensors');
    fs.mkdirSync(a.out, { recursive: true });
    writeSafetensors(file, new Map([['lin.weight', { ...hostTensor('float32', [2], new Float32Array([0.5, -2])), as: 'F16' as const }]]));
    const read = (args: RunArgs) => {
      const { store, warmFrom } = initialStore(args, 'checkpoint.safetensors', file, 7);
      store.take('lin.weight', [2]);
      const v = Array.from(store.tensor('lin.weight').dataSync());
      store.dispose();
      return { v, warmFrom };
    };
    assert.deepStrictEqual(read(a), { v: [0.5, -2], warmFrom: file });
    const fresh = read({ ...a, rest: {} });
    assert.strictEqual(fresh.warmFrom, undefined);
    assert.notDeepStrictEqual(fresh.v, [0.5, -2]);
    fs.mkdirSync(a.cache, { recursive: true });
    fs.writeFileSync(path.join(a.cache, 'checkpoint.safetensors'), 'x');
    assert.strictEqual(read(a).warmFrom, undefined, 'a checkpoint wins over --warm-start');
    assert.throws(() => initialStore({ ...a, cache: path.join(a.out, 'none') }, 'checkpoint.safetensors', path.join(a.out, 'missing.safetensors'), 7), /--warm-start: no exported weights at .*missing/);
    assert.strictEqual(tf.memory().numTensors, before, 'every store disposed its tensors');
  });
});
