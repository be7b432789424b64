/** `detex train` → `detex sample --concept` → `detex eval`, end to end on detex-tiny by path, for speed (in-process). */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { writePng } from '../../lib/io/image';
import { readSafetensors } from '../../lib/io/safetensors';
import { loadConcept } from '../../lib/detex/concept';
import { main } from '../../lib/cli/main';
import { disc } from '../engine/discs';
import { defaultModelDir, tinyModelDir } from '../../lib/models/default-model';
import { tempDirs } from '../helpers/temp-dir';

async function captured(argv: string[]): Promise<{ code: number; out: string[] }> {
  const out: string[] = [];
  const orig = console.log;
  console.log = (...a: unknown[]) => out.push(a.join(' '));
  try {
    return { code: await main(argv), out };
  } finally {
    console.log = orig;
  }
}

describe('detex CLI: the default model', () => {
  it('should name detex-mini in info and help when no --model is given, and the default beside a given folder', async () => {
    const info = await captured(['info']);
    assert.strictEqual(info.code, 0);
    assert.ok(info.out.some((l) => l.startsWith(`model:          ${defaultModelDir()} (`) && l.endsWith(', the embedded default detex-mini)')), info.out.join('\n'));
    assert.ok(info.out.some((l) => /^model note: +detex-mini: pretrained/.test(l)), info.out.join('\n'));
    const other = await captured(['info', '--model', tinyModelDir()]);
    assert.ok(other.out.some((l) => l.startsWith(`model:          ${tinyModelDir()} (`) && !l.includes('embedded default')), other.out.join('\n'));
    assert.ok(other.out.includes(`default model:  ${defaultModelDir()} (used when --model is not given)`), other.out.join('\n'));
    const help = await captured(['help']);
    assert.ok(help.out.some((l) => l.includes('every command uses the embedded default model detex-mini (models/detex-mini)')), help.out.join('\n'));
  });
});

describe('detex CLI: train, sample, eval', function () {
  this.timeout(120000);
  const tmp = tempDirs();
  it('should train a concept, sample it, and score the samples into a table and JSON', async () => {
    const dir = tmp('detex-cli-');
    const tiny = tinyModelDir();
    for (const k of [0, 1]) {
      const d = disc(k);
      fs.mkdirSync(path.join(dir, 'img'), { recursive: true });
      fs.mkdirSync(path.join(dir, 'msk'), { recursive: true });
      await writePng(path.join(dir, 'img', `${k}.png`), d.image);
      await writePng(path.join(dir, 'msk', `${k}.png`), { ...d.mask, shape: [64, 64, 1], data: d.mask.data.map((v) => v * 255) });
    }
    const concept = path.join(dir, 'c.safetensors');
    const log: string[] = [];
    const orig = console.log;
    console.log = (...a: unknown[]) => log.push(a.join(' '));
    try {
      assert.strictEqual(await main(['train', '--model', tiny, '--images', path.join(dir, 'img'), '--masks', path.join(dir, 'msk'), '--class', 'ball', '--steps', '2', '--batch', '1', '--num-class-images', '2', '--class-image-steps', '3', '--out', concept]), 0);
      assert.ok(fs.existsSync(concept));
      // the class images were made with 3 DDIM steps, and the cache key says so
      const made = log.find((l) => /^class images: 2 in /.test(l));
      assert.ok(made && /ball-n2-r64-ddim3-g6-s0\.safetensors$/.test(made), log.join('\n'));
      assert.strictEqual(JSON.parse(String(readSafetensors(made.replace(/^class images: 2 in /, '')).metadata.steps)), 3);
      assert.ok(log.some((l) => /^step 2\/2 loss \d\.\d+ \(ldm \d\.\d+ pr \d\.\d+ ca \d\.\d+\) [\d.]+s eta \d+s$/.test(l)), 'per-step line with each term, elapsed and ETA');
      // a user folder of class images instead (the training images serve as pictures here)
      const concept2 = path.join(dir, 'c2.safetensors');
      assert.strictEqual(await main(['train', '--model', tiny, '--images', path.join(dir, 'img'), '--masks', path.join(dir, 'msk'), '--class', 'ball', '--steps', '1', '--batch', '1', '--class-images', path.join(dir, 'img'), '--out', concept2]), 0);
      assert.ok(fs.existsSync(concept2));
      assert.ok(log.includes(`class images: 2 from ${path.join(dir, 'img')}`), log.join('\n'));
      // [V] started from the candidate word the photos pick, said and recorded in the concept
      const concept3 = path.join(dir, 'c3.safetensors');
      assert.strictEqual(await main(['train', '--model', tiny, '--images', path.join(dir, 'img'), '--masks', path.join(dir, 'msk'), '--class', 'ball', '--steps', '1', '--batch', '1', '--class-images', path.join(dir, 'img'), '--init-from', 'red, blue', '--out', concept3]), 0);
      const said = log.find((l) => l.startsWith('[V] starts from'));
      assert.match(said ?? '', /^\[V\] starts from "(red|blue)" \(photos' diffusion loss: red \d\.\d{4}, blue \d\.\d{4}\)$/);
      assert.strictEqual(loadConcept(concept3).meta.initWord, /"(\w+)"/.exec(said!)![1]);
      assert.strictEqual(loadConcept(concept2).meta.initWord, 'pll');
      assert.strictEqual(await main(['train', '--model', tiny, '--images', path.join(dir, 'img'), '--masks', path.join(dir, 'msk'), '--class', 'ball', '--class-image-steps', '0', '--out', concept2]), 2);
      // what the concept holds: nearest words for [V] and every [P_i]/[B_i], and the K/V drift (2 steps: small, not 0)
      assert.strictEqual(await main(['concept', concept, '--model', tiny, '--top', '2']), 0);
      assert.ok(log.some((l) => /^  <[^>]+> \(norm [\d.]+\): [a-z]+ -?\d\.\d\d, [a-z]+ -?\d\.\d\d$/.test(l)), log.join('\n'));
      assert.strictEqual(log.filter((l) => /^  <[^>]+:[pb]\d> \(norm/.test(l)).length, 4, 'two photos: [P_1], [P_2], [B_1], [B_2]');
      const drift = log.find((l) => /K\/V moved from the base/.test(l));
      assert.ok(drift && /mean (\d+\.\d+) %/.test(drift) && Number(/mean (\d+\.\d+) %/.exec(drift)![1]) > 0, drift);
      assert.strictEqual(await main(['concept']), 2);
      // the header names the word [V] started from (after the counts above, which read the whole log)
      assert.strictEqual(await main(['concept', concept3, '--model', tiny, '--top', '1']), 0);
      assert.ok(log.some((l) => l.startsWith(`${concept3}: class word "ball", 2 photos, 1 steps, [V] started from "${loadConcept(concept3).meta.initWord}"; against`)), log.join('\n'));
      assert.strictEqual(await main(['sample', '--model', tiny, '--concept', concept, '--prompt', 'a {{V}} {{class}} with {{P.1}} {{attribute}}', '--steps', '2', '--count', '2', '--out', path.join(dir, 'out')]), 0);
      assert.deepStrictEqual(fs.readdirSync(path.join(dir, 'out')).sort(), ['000-seed0.png', '001-seed1.png']);
      const json = path.join(dir, 'scores.json');
      assert.strictEqual(await main(['eval', '--model', tiny, '--images', path.join(dir, 'out'), '--references', path.join(dir, 'img'), '--masks', path.join(dir, 'msk'), '--metrics', 'clip-i,clip-i-fg', '--json', json]), 0);
      const scores = JSON.parse(fs.readFileSync(json, 'utf8')).scores as Record<string, number>;
      assert.deepStrictEqual(Object.keys(scores), ['clip-i', 'clip-i-fg']);
      assert.ok(Object.values(scores).every((v) => v >= -1 && v <= 1));
      assert.ok(log.some((l) => /CLIP-I\(FG\)\s+-?\d\.\d{4}/.test(l)), log.join('\n'));
      assert.strictEqual(await main(['eval', '--model', tiny, '--images', path.join(dir, 'out'), '--metrics', 'clip-x']), 2);
    } finally {
      console.log = orig;
    }
  });
});
