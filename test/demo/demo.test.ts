import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { runDemo, describeModel } from '../../lib/demo/run';
import { DEMO_TRAINING, WORLD_ATTRIBUTE_WORD, demoPrompts } from '../../lib/demo/prompts';
import { HELD_OUT, subjectPhotos, worldVocabulary } from '../../lib/world';
import { defaultModelDir, tinyModelDir } from '../../lib/models/default-model';
import { lossCurveSvg } from '../../lib/demo/report';
import { readImageMetadata } from '../../lib/io/image';
import { loadConcept } from '../../lib/detex/concept';
import { readModelTrainingDefaults } from '../../lib/detex/model-defaults';
import { tempDirs } from '../helpers/temp-dir';

/** Width and height from a PNG's IHDR chunk. */
function pngSize(file: string): [number, number] {
  const b = fs.readFileSync(file);
  return [b.readUInt32BE(16), b.readUInt32BE(20)];
}

describe('detex demo (the main job)', () => {
  const tmp = tempDirs();
  it('should render, mask, train, sample and write the report, PNG recipes and concept, freeing every tensor (detex-tiny, for speed)', async () => {
    const out = tmp('detex-demo-');
    const lines: string[] = [];
    const before = tf.memory().numTensors;
    const r = await runDemo({ out, model: tinyModelDir(), trainSteps: 2, batchSize: 2, numClassImages: 2, classImageSteps: 2, sampleSteps: 2, imagesPerPrompt: 1, log: (l) => lines.push(l) });
    assert.strictEqual(tf.memory().numTensors, before, 'tensors left behind');
    assert.ok(lines.some((l) => l.startsWith('[4/4] report')), lines.join('\n'));
    const html = fs.readFileSync(r.report, 'utf8');
    for (const f of [...html.matchAll(/src="([^"]+)"/g)].map((m) => m[1])) assert.ok(fs.existsSync(path.join(out, f)), `report links missing ${f}`);
    assert.match(html, /random, untrained weights/);
    assert.strictEqual(r.reads, undefined, 'detex-tiny has no world classifier to read its images');
    assert.match(html, /<svg/);
    assert.strictEqual(r.images.length, 7);
    const meta = await readImageMetadata(r.images[3]);
    assert.match(meta?.prompt ?? '', /<new1:p1>/, 'the keep-pose image records its prompt with the [P_1] token');
    const concept = loadConcept(r.concept);
    assert.strictEqual(concept.pose.length, 4, 'one [P_i] per training photo');
    assert.strictEqual(concept.background.length, 4);
    assert.deepStrictEqual([concept.meta.attributeWord, concept.meta.config.learningRate], [WORLD_ATTRIBUTE_WORD, DEMO_TRAINING.learningRate]);
    assert.match(meta?.prompt ?? '', / with <new1:p1> pose in water background$/);
  });

  it('should run on the embedded default detex-mini when no model is given, at its 64 px', async () => {
    const out = tmp('detex-demo-mini-');
    const lines: string[] = [];
    const r = await runDemo({ out, trainSteps: 1, batchSize: 1, numClassImages: 1, classImageSteps: 1, sampleSteps: 1, imagesPerPrompt: 1, log: (l) => lines.push(l) });
    assert.ok(lines.includes(`model: ${defaultModelDir()} (64 px images; backend ${tf.getBackend()})`), lines.join('\n'));
    assert.match(fs.readFileSync(r.report, 'utf8'), /Model: detex-mini, the embedded default/);
    const meta = await readImageMetadata(r.images[0]);
    assert.strictEqual(meta?.model, 'detex-mini');
    // the model's detex_config.json reaches the trainer where the demo's flags leave a value open
    const tuned = readModelTrainingDefaults(defaultModelDir());
    const cfg = loadConcept(r.concept).meta.config;
    assert.deepStrictEqual([cfg.embeddingLearningRate, cfg.mapperLearningRate, cfg.learningRate, cfg.steps], [tuned.embeddingLearningRate, tuned.mapperLearningRate, tuned.learningRate, 1]);
    assert.ok(lines.some((l) => l.includes(`${tuned.embeddingLearningRate} [V]`)), lines.join('\n'));
    // every image read by detex-mini's world classifier against what its prompt asks
    assert.deepStrictEqual(r.reads?.map((x) => x.reads.length), [1, 1, 1, 1, 1, 1, 1]);
    assert.deepStrictEqual(Object.keys(r.reads![0].reads[0].ok), ['class', 'colour', 'pattern', 'background']);
    assert.deepStrictEqual(Object.keys(r.reads![6].reads[0].ok), ['class', 'background'], 'the other-class row asks no colour or pattern');
    assert.ok(lines.some((l) => /the world classifier sees, over all 7 images: class \d\/7, colour \d\/6, pattern \d\/6, background \d\/7/.test(l)), lines.join('\n'));
    assert.match(fs.readFileSync(r.report, 'utf8'), /what the model's world attribute classifier sees/);
    for (const f of [path.join(out, 'photos', 'photo-1.png'), r.images[0]]) {
      assert.deepStrictEqual(pngSize(f), [64, 64], f);
    }
  });

  it("should write its prompts in the world's caption words, the ones detex-mini was pretrained on", () => {
    const v = worldVocabulary();
    const backgrounds = new Set(Object.values(v.backgroundWords));
    const prompts = demoPrompts(4, 'ball');
    for (const p of prompts) {
      const m = /^a photo of an? (.+) in (.+) background$/.exec(p.template);
      assert.ok(m, `caption form: ${p.template}`);
      assert.ok(m[2].startsWith('{{B.') || backgrounds.has(m[2]), `"${m[2]}" is not a world background (${[...backgrounds].join(', ')})`);
    }
    assert.ok(prompts.filter((p) => !p.template.includes('{{B.')).length >= 3, 'new scenes in fixed world backgrounds');
    assert.ok(v.classes.includes('ball') && prompts.some((p) => p.template === 'a photo of a ball in {{B.1}} background'));
    // every world caption says "with <pose words> pose in …", for objects with views too: the demo's attribute word
    for (const id of HELD_OUT) {
      for (const s of subjectPhotos(id, 2, 0, { size: 32 })) assert.match(s.caption, new RegExp(` ${WORLD_ATTRIBUTE_WORD} in [a-z ]+ background$`), s.caption);
    }
  });

  it('should describe the embedded default as the pretrained detex-mini, detex-tiny as random, and other folders by path', () => {
    const mini = describeModel(defaultModelDir());
    assert.match(mini, /^Model: detex-mini, the embedded default — pretrained .*procedural world/);
    assert.match(mini, /still in progress/);
    assert.doesNotMatch(mini, /random/);
    assert.match(describeModel(tinyModelDir()), /^Model: detex-tiny — random, untrained weights/);
    assert.strictEqual(describeModel('/some/sd-v1-5'), 'Model: /some/sd-v1-5');
  });

  it('should draw a loss curve ending at the last loss', () => {
    const svg = lossCurveSvg([{ step: 1, loss: 2 }, { step: 2, loss: 1.5 }]);
    assert.match(svg, /step 2 · loss 1\.50/);
    assert.match(lossCurveSvg([]), /no training steps/);
  });
});
