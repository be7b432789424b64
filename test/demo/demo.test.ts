import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { runDemo } from '../../lib/demo/run';
import { lossCurveSvg } from '../../lib/demo/report';
import { readImageMetadata } from '../../lib/io/image';
import { loadConcept } from '../../lib/detex/concept';

describe('detex demo (the main job) on the embedded model', () => {
  it('should render, mask, train, sample and write the report, PNG recipes and concept, freeing every tensor', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'detex-demo-'));
    const lines: string[] = [];
    const before = tf.memory().numTensors;
    const r = await runDemo({ out, trainSteps: 2, batchSize: 2, numClassImages: 2, classImageSteps: 2, sampleSteps: 2, imagesPerPrompt: 1, log: (l) => lines.push(l) });
    assert.strictEqual(tf.memory().numTensors, before, 'tensors left behind');
    assert.ok(lines.some((l) => l.startsWith('[4/4] report')), lines.join('\n'));
    const html = fs.readFileSync(r.report, 'utf8');
    for (const f of [...html.matchAll(/src="([^"]+)"/g)].map((m) => m[1])) assert.ok(fs.existsSync(path.join(out, f)), `report links missing ${f}`);
    assert.match(html, /random, untrained weights/);
    assert.match(html, /<svg/);
    assert.strictEqual(r.images.length, 7);
    const meta = await readImageMetadata(r.images[3]);
    assert.match(meta?.prompt ?? '', /<new1:p1>/, 'the keep-pose image records its prompt with the [P_1] token');
    const concept = loadConcept(r.concept);
    assert.strictEqual(concept.pose.length, 4, 'one [P_i] per training photo');
    assert.strictEqual(concept.background.length, 4);
  });

  it('should draw a loss curve ending at the last loss', () => {
    const svg = lossCurveSvg([{ step: 1, loss: 2 }, { step: 2, loss: 1.5 }]);
    assert.match(svg, /step 2 · loss 1\.50/);
    assert.match(lossCurveSvg([]), /no training steps/);
  });
});
