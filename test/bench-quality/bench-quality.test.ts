import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { runBenchQuality, defaultSettings, defaultBenchModel, QUICK, FULL } from '../../lib/bench-quality';
import { decodeImage } from '../../lib/io/image';
import { main } from '../../lib/cli/main';
import { removeTempDir, tempDir } from '../helpers/temp-dir';

describe('bench quality end to end on the embedded model (1 subject × 2 methods × 1 prompt, tiny steps)', function () {
  this.timeout(900000);
  const out = tempDir('detex-bq-');
  const tiny = path.resolve(__dirname, '../../../models/detex-tiny');
  const settings = defaultSettings(true, {
    subjects: ['cup-blue-dots-white-loop'], methods: ['detex', 'custom-diffusion'], trainSteps: 2, batchSize: 2, numClassImages: 1,
    classImageSteps: 1, backgroundPrompts: 1, colourPrompt: false, posePrompt: false, imagesPerPrompt: 1, sampleSteps: 2,
  });
  after(() => removeTempDir(out));

  it('should train, sample, score, and write the table, JSON, grids, attention figure and report, freeing every tensor', async () => {
    const lines: string[] = [];
    const before = tf.memory().numTensors;
    const r = await runBenchQuality({ out, model: tiny, settings, log: (l) => lines.push(l) });
    assert.strictEqual(tf.memory().numTensors, before, 'tensors left behind');
    assert.strictEqual(r.computed, 2);
    assert.strictEqual(r.model.meaningful, false);
    assert.ok(lines.some((l) => /NUMBERS MEAN NOTHING/.test(l)), 'a loud note on detex-tiny');
    const json = JSON.parse(fs.readFileSync(r.files.json, 'utf8'));
    assert.strictEqual(json.cells.length, 2);
    for (const c of json.cells) {
      assert.strictEqual(c.prompts.length, 1);
      assert.strictEqual(c.prompts[0].images.length, 1);
      assert.ok(fs.existsSync(path.join(out, c.prompts[0].images[0])));
      assert.strictEqual(c.prompts[0].oracle.length, 1);
      for (const k of ['clip-i', 'clip-i-fg', 'dino-i', 'dino-i-fg', 'bg-acc', 'colour-acc', 'bg-prob']) assert.strictEqual(typeof c.scores[k], 'number', k);
      assert.strictEqual(c.scores['clip-t'], null, 'detex-tiny has no text projection: CLIP-T is not computed');
      assert.strictEqual(c.train.steps, 2);
      assert.strictEqual(c.scores['colour-kept'], c.scores['colour-acc'], 'only a background prompt: own colour kept = colour right');
      assert.strictEqual(c.scores.recolour, null, 'no recolouring prompt');
    }
    // both methods saw the same prompt and sampling seed
    assert.deepStrictEqual(json.cells[0].prompts[0].template, json.cells[1].prompts[0].template);
    assert.strictEqual(json.cells[0].prompts[0].sampleSeed, json.cells[1].prompts[0].sampleSeed);
    assert.match(json.cells[0].prompts[0].prompt, /<new1>/);
    assert.strictEqual(json.aggregate.detex['clip-i'].n, 1);
    const table = fs.readFileSync(r.files.table, 'utf8');
    assert.match(table, /\| DETEX \(ours\) \|/);
    assert.match(table, /\| Custom Diffusion \|/);
    assert.match(table, /CLIP-I\(FG\)/);
    assert.match(table, /MEAN NOTHING/);
    // the attention alignment of [P_i]/[B_i]: for DETEX only (Custom Diffusion has no such tokens)
    assert.match(table, /\*\*Attention alignment on the training photos\*\*/);
    const detexCell = json.cells.find((c: { method: string }) => c.method === 'detex');
    const cdCell = json.cells.find((c: { method: string }) => c.method === 'custom-diffusion');
    for (const k of ['attn-pose-on-subject', 'attn-background-off-subject', 'subject-area']) {
      assert.ok(detexCell.scores[k] > 0 && detexCell.scores[k] < 1, `${k} = ${detexCell.scores[k]}`);
      assert.strictEqual(cdCell.scores[k], undefined);
    }
    assert.strictEqual(r.files.grids.length, 2);
    const grid = await decodeImage(r.files.grids[0]);
    assert.strictEqual(grid.width, 2 * 64 + 2, 'training photo + one prompt');
    assert.ok(r.files.attention && fs.existsSync(r.files.attention));
    assert.strictEqual(r.files.compare.length, 1);
    assert.strictEqual((await decodeImage(r.files.compare[0])).height, 2 * 64 + 2, 'one row per method');
    const html = fs.readFileSync(r.files.html, 'utf8');
    for (const f of [...html.matchAll(/src="([^"]+)"/g)].map((m) => m[1])) assert.ok(fs.existsSync(path.join(out, f)), `report links missing ${f}`);
    assert.match(fs.readFileSync(r.files.markdown, 'utf8'), /## What the tokens attend to/);
  });

  it('should resume from the cache: a second run computes nothing, a deleted cell is recomputed', async () => {
    const r = await runBenchQuality({ out, model: tiny, settings, log: () => undefined, noAttention: true });
    assert.strictEqual(r.computed, 0);
    // killed after training, before the cell was written: the finished concept is reused, not retrained
    fs.rmSync(path.join(out, 'cells', 'detex', 'cup-blue-dots-white-loop-s0.json'));
    const lines: string[] = [];
    const again = await runBenchQuality({ out, model: tiny, settings, log: (l) => lines.push(l), noAttention: true });
    assert.strictEqual(again.computed, 1);
    assert.ok(lines.some((l) => /trained concept found, sampling only/.test(l)), lines.join('\n'));
    assert.deepStrictEqual(again.cells.find((c) => c.method === 'detex')!.scores, r.cells.find((c) => c.method === 'detex')!.scores, 'same concept, same seeds: same scores');
    fs.rmSync(path.join(out, 'cells', 'custom-diffusion', 'cup-blue-dots-white-loop-s0.json'));
    const r2 = await runBenchQuality({ out, model: tiny, settings, log: () => undefined, noAttention: true });
    assert.strictEqual(r2.computed, 1);
    // a changed setting invalidates the cache
    const r3 = await runBenchQuality({ out, model: tiny, settings: { ...settings, methods: ['custom-diffusion'], sampleSteps: 3 }, log: () => undefined, noAttention: true });
    assert.strictEqual(r3.computed, 1);
  });

  it('should continue a cell killed mid-training from its checkpoint', async () => {
    const four = { ...settings, methods: ['detex' as const], trainSteps: 4 };
    const ac = new AbortController();
    const lines: string[] = [];
    await assert.rejects(
      runBenchQuality({ out, model: tiny, settings: four, noAttention: true, signal: ac.signal, log: (l) => {
        lines.push(l);
        if (/step 2\/4/.test(l)) ac.abort();
      } }),
      /cancelled/,
    );
    const after: string[] = [];
    const r = await runBenchQuality({ out, model: tiny, settings: four, noAttention: true, log: (l) => after.push(l) });
    assert.strictEqual(r.computed, 1);
    assert.ok(after.some((l) => /resumed from step [23]/.test(l)), after.join('\n'));
    assert.strictEqual(r.cells[0].train.steps, 4);
  });

  it('should be wired as `detex bench quality` and refuse unknown subjects and subcommands', async () => {
    assert.strictEqual(await main(['bench', 'nope']), 2);
    await assert.rejects(main(['bench', 'quality', '--subjects', 'ball-red-plain-none-seam', '--out', out]), /not a held-out world subject/);
  });

  it('should default to detex-mini only when it has landed, and size quick below full', () => {
    const m = defaultBenchModel();
    const miniLanded = fs.existsSync(path.resolve(__dirname, '../../../models/detex-mini/model_index.json'));
    assert.strictEqual(path.basename(m.folder), miniLanded ? 'detex-mini' : 'detex-tiny');
    assert.strictEqual(m.meaningful, miniLanded);
    assert.ok(QUICK.subjectCount < FULL.subjectCount && FULL.subjectCount >= 6);
    assert.ok(QUICK.trainSteps < FULL.trainSteps);
    assert.strictEqual(defaultSettings(false).methods.length, 5);
  });
});
