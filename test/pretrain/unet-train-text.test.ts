import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { SafetensorsReader, readSafetensors } from '../../lib/io/safetensors';
import { tempDirs } from '../helpers/temp-dir';
import { DETEX_MINI as MINI, pretrainScript, readRunLog } from '../helpers/pretrain-paths';
import { expectRefusal } from '../helpers/script-refusal';

const SCRIPT = pretrainScript('unet.js');

const readMeta = (file: string): { keys: string[]; metadata: Record<string, string> } => {
  const r = SafetensorsReader.open(file);
  try {
    return { keys: r.keys(), metadata: r.metadata };
  } finally {
    r.close();
  }
};

describe('scripts/pretrain/unet.js --train-text', function () {
  this.timeout(180000);
  const dirs = tempDirs();
  /** A copy of detex-mini's folders to train in, a fresh cache, and its UNet's --channels. */
  const miniRun = (prefix: string) => {
    const out = dirs(prefix);
    for (const c of ['unet', 'vae', 'text_encoder', 'tokenizer', 'scheduler']) fs.cpSync(path.join(MINI, c), path.join(out, c), { recursive: true });
    const channels = (JSON.parse(fs.readFileSync(path.join(MINI, 'unet', 'config.json'), 'utf8')).block_out_channels as number[]).join(',');
    return { out, cache: dirs(`${prefix}cache-`), channels };
  };

  it('should train the text encoder with the UNet, checkpoint both, export both, and resume', function () {
    if (!fs.existsSync(path.join(MINI, 'unet', 'diffusion_pytorch_model.safetensors'))) this.skip();
    const { out, cache, channels } = miniRun('detex-unet-text-');
    const run = (extra: string[]) =>
      execFileSync(process.execPath, [SCRIPT, '--out', out, '--cache', cache, '--channels', channels, '--batch', '2', '--train-text',
        '--contrast', '0.1', '--text-separate', '0.5', '--lr', '1e-4', '--warmup', '1', ...extra], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const before = fs.readFileSync(path.join(out, 'text_encoder', 'model.safetensors'));
    const first = run(['--warm-start', '--steps', '3', '--max-steps', '2']);
    assert.match(first, /with its 0\.\d+M layer parameters trained/);

    const ckpt = readMeta(path.join(cache, 'checkpoint.safetensors'));
    assert.ok(ckpt.keys.some((k) => k.startsWith('p/text_encoder/text_model.encoder.layers.0.')), 'text layers in the checkpoint');
    assert.ok(!ckpt.keys.some((k) => k.includes('.embeddings.')), 'token/position tables stay frozen');
    assert.match(ckpt.metadata.text, /^joint:trained:/);
    const exported = readMeta(path.join(out, 'text_encoder', 'model.safetensors'));
    assert.strictEqual(exported.metadata.step, '2');
    assert.match(exported.metadata.anchoredTo, /^trained:/);
    assert.ok(!fs.readFileSync(path.join(out, 'text_encoder', 'model.safetensors')).equals(before), 'the exported encoder moved');
    assert.ok(fs.readFileSync(path.join(cache, 'text-reference', 'text_encoder', 'model.safetensors')).equals(before), 'the reference is the original');
    const log = readRunLog(cache);
    assert.strictEqual(log.length, 2);
    for (const l of log) for (const k of ['anchor', 'contrast', 'separate']) assert.ok(Number.isFinite(l[k]), `${k} logged: ${JSON.stringify(l)}`);

    const second = run(['--steps', '3']);
    assert.match(second, /resumed at step 2/);
    assert.strictEqual(readMeta(path.join(out, 'text_encoder', 'model.safetensors')).metadata.step, '3');
  });

  it('should train only the named words\' token rows with --train-text-rows, checkpoint them and export them into the table', function () {
    if (!fs.existsSync(path.join(MINI, 'unet', 'diffusion_pytorch_model.safetensors'))) this.skip();
    const { out, cache, channels } = miniRun('detex-unet-rows-');
    const printed = execFileSync(process.execPath, [SCRIPT, '--out', out, '--cache', cache, '--channels', channels, '--batch', '2', '--train-text-rows', 'striped,dotted',
      '--contrast', '0.1', '--contrast-on', 'pattern', '--text-separate', '0.5', '--lr', '1e-2', '--warmup', '1', '--warm-start', '--steps', '2'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.match(printed, /with its 0\.\d+M token-row parameters \(striped, dotted\) trained/);
    const ckpt = readMeta(path.join(cache, 'checkpoint.safetensors'));
    assert.ok(ckpt.keys.includes('p/text_encoder/trained_token_rows'), ckpt.keys.filter((k) => k.includes('text')).join(', '));
    assert.ok(!ckpt.keys.some((k) => k.startsWith('p/text_encoder/text_model.')), 'the layers stay frozen');
    assert.strictEqual(ckpt.metadata.textRows, 'striped,dotted');
    const table = (dir: string) => readSafetensors(path.join(dir, 'text_encoder', 'model.safetensors')).tensors.get('text_model.embeddings.token_embedding.weight')!;
    const [before, after] = [table(MINI), table(out)];
    const width = before.shape[1];
    const changedRows = new Set<number>();
    for (let i = 0; i < before.data.length; i++) if (before.data[i] !== after.data[i]) changedRows.add(Math.floor(i / width));
    assert.deepStrictEqual([...changedRows].sort((a, b) => a - b), [22192, 47950], 'the rows of "striped" and "dotted" (CLIP BPE ids), no other');
  });

  it('should hold the kept attributes\' separation with --text-keep and the concepts\' spread with --concept-keep, logging each term and ratio', function () {
    if (!fs.existsSync(path.join(MINI, 'unet', 'diffusion_pytorch_model.safetensors'))) this.skip();
    const { out, cache, channels } = miniRun('detex-unet-keep-');
    const printed = execFileSync(process.execPath, [SCRIPT, '--out', out, '--cache', cache, '--channels', channels, '--batch', '2', '--train-text',
      '--text-keep', 'colour,background', '--concept-keep', '--lr', '1e-3', '--warmup', '1', '--warm-start', '--steps', '2'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.match(printed, /text keep: colour, background at the frozen encoder's separation per caption group, 2 of 64 base scenes per step/);
    const log = readRunLog(cache);
    // step 1 starts at the reference: the hinge is zero there (the reference is the same encoder on the same captions)
    assert.strictEqual(log[0].keep, 0, JSON.stringify(log[0]));
    for (const l of log) for (const k of ['keep', 'sepColour', 'sepBackground']) assert.ok(Number.isFinite(l[k]), `${k} logged: ${JSON.stringify(l)}`);
    assert.ok(Math.abs(log[0].sepBackground - 1) < 1e-4, `step 1 is the frozen encoder: ${log[0].sepBackground}`);
    assert.match(printed, /concept keep: 6 random \[V\] and 6 random \[B_1\] per step at the frozen encoder's spread/);
    assert.strictEqual(log[0].conceptKeep, 0, JSON.stringify(log[0]));
    for (const k of ['conceptV', 'conceptB']) assert.ok(Math.abs(log[0][k] - 1) < 1e-4, `step 1's ${k} is the frozen encoder's: ${log[0][k]}`);
    assert.ok(Number.isFinite(log[1].conceptV) && Number.isFinite(log[1].conceptKeep), JSON.stringify(log[1]));
    const meta = readMeta(path.join(cache, 'checkpoint.safetensors')).metadata;
    assert.strictEqual(meta.textKeep, 'colour,background');
    assert.strictEqual(meta.conceptKeep, 'true');
  });

  it('should refuse --text-keep or --concept-keep without --train-text, and an unknown attribute', () => {
    const fails = (args: string[], message: RegExp) => expectRefusal(SCRIPT, ['--out', dirs('detex-unet-text-'), ...args], message);
    fails(['--text-keep', 'background'], /--text-keep needs --train-text/);
    fails(['--concept-keep'], /--concept-keep needs --train-text/);
    fails(['--train-text', '--train-text-rows', 'striped'], /--train-text trains the encoder layers, --train-text-rows only some token rows; pass one/);
    fails(['--train-text-rows', 'striped', '--text-keep', 'colour'], /--text-keep holds trained encoder layers/);
    fails(['--train-text-rows', 'striped', '--concept-keep'], /--concept-keep holds trained encoder layers/);
    fails(['--train-text-rows', 'stripy'], /--train-text-rows one or more of .*; got 'stripy': 'stripy' is not one of them/);
    fails(['--train-text', '--text-keep', 'size'], /--text-keep one or more of class, colour, pattern, background; got 'size'/);
  });

  it('should refuse --text-separate without --train-text and --contrast', () => {
    expectRefusal(SCRIPT, ['--out', dirs('detex-unet-text-'), '--text-separate', '0.5'], /--text-separate needs --train-text and --contrast/);
  });
});
