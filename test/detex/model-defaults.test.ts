import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { MODEL_DEFAULTS_FILE, modelGuidance, readModelTrainingDefaults } from '../../lib/detex/model-defaults';
import { defaultModelDir } from '../../lib/models/default-model';
import { DetexSession } from '../../lib/engine';
import { trainingConfig } from '../../lib/engine/train';
import { tempDirs } from '../helpers/temp-dir';

describe('detex/model-defaults (<model>/detex_config.json)', () => {
  const tmp = tempDirs();
  const withFile = (text: string) => {
    const dir = tmp('detex-model-defaults-');
    fs.writeFileSync(path.join(dir, MODEL_DEFAULTS_FILE), text);
    return dir;
  };

  it('should give nothing for a folder without the file, and the tuning keys of one with it (comments skipped)', () => {
    assert.deepStrictEqual(readModelTrainingDefaults(tmp('detex-model-defaults-')), {});
    const dir = withFile(JSON.stringify({ _note: 'measured', learningRate: 1e-4, embeddingLearningRate: 5e-3, steps: 200, attributeWord: 'pose' }));
    assert.deepStrictEqual(readModelTrainingDefaults(dir), { learningRate: 1e-4, embeddingLearningRate: 5e-3, steps: 200, attributeWord: 'pose' });
    assert.strictEqual(modelGuidance(dir), undefined);
    assert.strictEqual(modelGuidance(withFile('{"guidance": 4}')), 4, 'the sampling guidance, kept apart from the training keys');
    assert.deepStrictEqual(readModelTrainingDefaults(withFile('{"guidance": 4}')), {});
    assert.deepStrictEqual(readModelTrainingDefaults(withFile('{"initCandidates": ["red", "blue"]}')), { initCandidates: ['red', 'blue'] });
  });

  it('should refuse what is not a tuning value, naming the file and the key', () => {
    const file = (dir: string) => path.join(dir, MODEL_DEFAULTS_FILE).replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
    let dir = withFile('{"gamma": 0}');
    assert.throws(() => readModelTrainingDefaults(dir), new RegExp(`^Error: ${file(dir)}: unknown key "gamma"`));
    dir = withFile('{"learningRate": "fast"}');
    assert.throws(() => readModelTrainingDefaults(dir), /"learningRate" must be a number, got "fast"/);
    dir = withFile('{"learningRate": 3}');
    assert.throws(() => readModelTrainingDefaults(dir), new RegExp(`${file(dir)}: DETEX config: learningRate must lie in \\[0, 1\\], got 3`));
    dir = withFile('{"guidance": -1}');
    assert.throws(() => modelGuidance(dir), /"guidance" must be a number in \[0, 50\], got -1/);
    dir = withFile('{"initCandidates": "red"}');
    assert.throws(() => readModelTrainingDefaults(dir), /"initCandidates" must be a list of words, got "red"/);
    dir = withFile('{"initCandidates": ["red", "light blue"]}');
    assert.throws(() => readModelTrainingDefaults(dir), /initCandidates must be a list of single words/);
    dir = withFile('[1]');
    assert.throws(() => readModelTrainingDefaults(dir), /must hold a JSON object/);
    dir = withFile('{learningRate: 1}');
    assert.throws(() => readModelTrainingDefaults(dir), /not valid JSON/);
  });

  it("should let a job's own initWord win over the model's candidate list, and keep the list otherwise", () => {
    const dir = withFile(JSON.stringify({ initCandidates: ['red', 'blue'] }));
    const session = { folder: dir } as DetexSession; // trainingConfig reads the folder only
    assert.deepStrictEqual(trainingConfig(session, { className: 'cup' }).initCandidates, ['red', 'blue']);
    const own = trainingConfig(session, { className: 'cup', options: { initWord: 'cup' } });
    assert.deepStrictEqual([own.initWord, own.initCandidates], ['cup', []]);
    const both = trainingConfig(session, { className: 'cup', options: { initWord: 'cup', initCandidates: ['green'] } });
    assert.deepStrictEqual(both.initCandidates, ['green']);
  });

  it("should read detex-mini's own file: separate rates for [V] and the mappers", () => {
    const d = readModelTrainingDefaults(defaultModelDir());
    assert.ok(d.embeddingLearningRate! > d.learningRate! && d.mapperLearningRate! > d.learningRate!, JSON.stringify(d));
    assert.strictEqual(d.attributeWord, 'pose');
    assert.ok(modelGuidance(defaultModelDir())! < 6, 'detex-mini samples below the paper guidance (it over-saturates colours at 6)');
  });
});
