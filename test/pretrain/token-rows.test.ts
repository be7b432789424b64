import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { SafetensorsReader } from '../../lib/io/safetensors';
import { JointTextTraining } from '../../lib/pretrain/joint-text';
import { TextConditioner } from '../../lib/pretrain/text-cond';
import { TOKEN_ROWS_NAME, TrainedTokenRows, attributeWords, parseTrainedWords } from '../../lib/pretrain/token-rows';
import { expectNoLeak } from '../helpers/leak';
import { tempDirs } from '../helpers/temp-dir';
import { DETEX_MINI as MINI } from '../helpers/pretrain-paths';

const TOKENIZER = path.join(MINI, 'tokenizer');
const WITH = 'a photo of a red striped ball with tilted pose in grass background';
const WITHOUT = 'a photo of a red ball with tilted pose in grass background';

const values = (t: tf.Tensor): number[] => Array.from(t.dataSync());
const maxDiff = (x: number[], y: number[]) => x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0);

describe('pretrain/token-rows', () => {
  const dirs = tempDirs();

  it('should accept only world attribute words, each once, naming the one refused', () => {
    assert.deepStrictEqual(parseTrainedWords('striped, dotted,checked'), ['striped', 'dotted', 'checked']);
    assert.ok(attributeWords().includes('wooden floor') && attributeWords().includes('red') && !attributeWords().includes(''));
    assert.throws(() => parseTrainedWords('striped,spotty'), /--train-text-rows one or more of .*striped.*; got 'striped,spotty': 'spotty' is not one of them/);
    assert.throws(() => parseTrainedWords('dotted,dotted'), /--train-text-rows: 'dotted' is given twice in 'dotted,dotted'/);
  });

  it('should place the rows where their ids occur and write them into a copy of the table', async () => {
    await expectNoLeak(() => {
      const table = tf.tensor2d([[0, 0], [1, 1], [2, 2], [3, 3]]);
      const rows = new TrainedTokenRows([3, 1], table);
      assert.deepStrictEqual(values(rows.rows), [3, 3, 1, 1]);
      assert.strictEqual(rows.overridesFor([[0, 2], [2, 0]]), undefined);
      const o = rows.overridesFor([[0, 1, 3], [3, 2, 2]])!;
      assert.deepStrictEqual(o.positions, [[0, 1], [0, 2], [1, 0]]);
      assert.deepStrictEqual(values(o.vectors), [1, 1, 3, 3, 3, 3]);
      o.vectors.dispose();
      tf.tidy(() => rows.rows.assign(tf.tensor2d([[30, 31], [10, 11]])));
      const written = rows.writeInto(table);
      assert.deepStrictEqual(values(written), [0, 0, 10, 11, 2, 2, 30, 31]);
      assert.deepStrictEqual(values(table), [0, 0, 1, 1, 2, 2, 3, 3], 'the frozen table is untouched');
      written.dispose();
      rows.dispose();
      table.dispose();
    });
    const table = tf.zeros([4, 2]) as tf.Tensor2D;
    assert.throws(() => new TrainedTokenRows([], table), /no token ids/);
    assert.throws(() => new TrainedTokenRows([1, 1], table), /token ids repeat: 1, 1/);
    assert.throws(() => new TrainedTokenRows([4], table), /token id 4 outside the table \(4 rows\)/);
    table.dispose();
  });

  it('should move only captions holding a trained word, give the rows (not the layers) the gradient, and export them', async function () {
    if (!fs.existsSync(path.join(MINI, 'text_encoder', 'model.safetensors'))) this.skip();
    const out = dirs('detex-rows-');
    fs.mkdirSync(path.join(out, 'text_encoder'));
    for (const f of ['config.json', 'model.safetensors']) fs.copyFileSync(path.join(MINI, 'text_encoder', f), path.join(out, 'text_encoder', f));
    const frozen = TextConditioner.load(out, TOKENIZER);
    const [withBefore, withoutBefore] = [WITH, WITHOUT].map((c) => tf.tidy(() => values(frozen.embed([c]))));
    frozen.dispose();

    let trained: number[] = [];
    await expectNoLeak(() => {
      const text = TextConditioner.load(out, TOKENIZER);
      const joint = JointTextTraining.start(text, out, dirs('detex-rows-cache-'), TOKENIZER, false, ['striped']);
      assert.deepStrictEqual([...joint.vars.keys()], [TOKEN_ROWS_NAME]);
      assert.deepStrictEqual(joint.vars.get(TOKEN_ROWS_NAME)!.shape, [1, text.width]);
      assert.ok(maxDiff(tf.tidy(() => values(text.embed([WITH]))), withBefore) < 1e-6, 'the rows start as the table\'s');
      assert.throws(() => text.trainEncoderLayers(), /token rows are already trainable/);

      const row = joint.vars.get(TOKEN_ROWS_NAME)!;
      const { grads, value } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(text.embed([WITH, WITHOUT]), 1))) as tf.Scalar, [row]);
      value.dispose();
      assert.ok(tf.tidy(() => tf.norm(grads[row.name]!).dataSync()[0]) > 0, 'the row gets a gradient');
      tf.dispose(grads);
      tf.tidy(() => row.assign(tf.add(row, tf.randomNormal(row.shape, 0, 0.5, 'float32', 7)) as tf.Tensor2D));
      assert.ok(maxDiff(tf.tidy(() => values(text.embed([WITH]))), withBefore) > 0.05, 'a caption with the word moves');
      assert.ok(maxDiff(tf.tidy(() => values(text.embed([WITHOUT]))), withoutBefore) < 1e-6, 'one without it does not');

      joint.export(out, 1);
      trained = tf.tidy(() => values(text.embed([WITH])));
      assert.ok(maxDiff(trained, tf.tidy(() => values(text.embed([WITH])))) < 1e-6, 'the written table and the overrides agree');
      joint.dispose();
      text.dispose();
    });
    const r = SafetensorsReader.open(path.join(out, 'text_encoder', 'model.safetensors'));
    const keys = r.keys();
    r.close();
    assert.ok(!keys.includes(TOKEN_ROWS_NAME) && keys.includes('text_model.embeddings.token_embedding.weight'), keys.join(', '));
    const reloaded = TextConditioner.load(out, TOKENIZER);
    const [a, b] = [WITH, WITHOUT].map((c) => tf.tidy(() => values(reloaded.embed([c]))));
    reloaded.dispose();
    assert.ok(maxDiff(a, trained) < 0.05, `export vs trained (F16): ${maxDiff(a, trained)}`);
    assert.ok(maxDiff(a, withBefore) > 0.05, 'the export holds the moved row');
    assert.ok(maxDiff(b, withoutBefore) < 0.02, `other captions as before, up to F16: ${maxDiff(b, withoutBefore)}`);
  });
});
