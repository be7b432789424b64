import * as assert from 'assert';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { textConfigFrom, CLIP_TEXT_DEFAULTS } from '../../../lib/models/clip/config';
import { loadCLIPTextModel } from '../../../lib/models/clip/loader';
import { CLIPTextModel, disposeTextOutput } from '../../../lib/models/clip/text-model';
import { CLIPTokenizer } from '../../../lib/models/clip/tokenizer';
import { runner } from '../../../lib/parity/runners/clip-text';
import { fixture } from '../../helpers/fixtures';
import { expectNoLeak } from '../../helpers/leak';
import { failures, runFixture } from './parity-helper';

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

describe('models/clip/text-model (clip-text-tiny)', function () {
  const dir = fixture('clip-text-tiny');
  const tokDir = fixture('clip-tokenizer');
  if (!dir || !tokDir) return;
  let model: CLIPTextModel;
  let tok: CLIPTokenizer;
  before(() => {
    model = loadCLIPTextModel(dir, { warn: (m) => assert.fail(`unexpected warning: ${m}`) });
    tok = CLIPTokenizer.fromFolder(tokDir);
  });
  after(() => model.dispose());

  it('should pass every clip-text-tiny case within tolerance, without leaks', async () => {
    const report = await runFixture(dir, runner);
    assert.strictEqual(report.failed, 0, failures(report));
    assert.strictEqual(report.passed, report.results.length);
    assert.ok(report.passed >= 5);
  });

  it('should take every weight of the file (position_ids included)', () => {
    assert.deepStrictEqual(model.store.unusedKeys(), []);
  });

  it('should leave no tensors after forward with hidden states and a mask, ids=[2,77]', async () => {
    const { inputIds, attentionMask } = tok.call(['a photo of a cat', 'a dog']);
    await expectNoLeak(() => {
      const out = model.forward(inputIds, { attentionMask, outputHiddenStates: true });
      assert.deepStrictEqual(out.lastHiddenState.shape, [2, 77, 32]);
      assert.strictEqual(out.hiddenStates!.length, 3);
      assert.deepStrictEqual(out.poolerIndex, [6, 3]);
      disposeTextOutput(out);
    });
  });

  describe('embedding overrides (DETEX substitution path)', () => {
    it('should equal an added-token row at the same place', async () => {
      const t = CLIPTokenizer.fromFolder(tokDir);
      t.addTokens(['<v1>']);
      const withAdded = t.call(['a <v1> dog']).inputIds;
      const plain = withAdded.map((r) => r.map((id) => (id >= 49408 ? tok.tokenToId('x</w>') : id)));
      const row = tf.randomNormal([1, 32], 0, 1, 'float32', 7) as tf.Tensor2D;
      const m = loadCLIPTextModel(dir, { warn: () => {} });
      try {
        m.resizeTokenEmbeddings(49409, row); // the model owns one new tensor: the added rows
        await expectNoLeak(() => {
          const a = m.forward(withAdded);
          const b = m.forward(plain, { embeddingOverrides: { positions: [[0, 2]], vectors: row } });
          assert.ok(maxAbsDiff(a.lastHiddenState, b.lastHiddenState) < 1e-6);
          assert.notDeepStrictEqual(a.poolerIndex, b.poolerIndex, 'argmax pooling follows the ids: added id vs eos');
          disposeTextOutput(a);
          disposeTextOutput(b);
        });
      } finally {
        row.dispose();
        m.dispose();
      }
    });

    it('should send gradients into the substituted vectors only (frozen weights get none)', async () => {
      const ids = tok.call(['a photo of sks dog']).inputIds;
      const v = tf.variable(tf.randomNormal([2, 32], 0, 1, 'float32', 3) as tf.Tensor2D, true, 'clip-test-override');
      try {
        await expectNoLeak(() => {
          const loss = () =>
            tf.tidy(() => {
              const out = model.forward(ids, { embeddingOverrides: { positions: [[0, 4], [0, 5]], vectors: v } });
              // a few rows only, so float32 rounding of the loss stays far below the finite-difference step
              const rows = tf.slice(out.lastHiddenState, [0, 3, 0], [1, 5, 32]);
              const l = tf.add(tf.sum(tf.square(rows)), tf.sum(out.pooledOutput)) as tf.Scalar;
              return l;
            });
          const { value, grads } = tf.variableGrads(loss, [v]);
          assert.deepStrictEqual(Object.keys(grads), [v.name]);
          assert.strictEqual(model.store.trainableNames().length, 0, 'no model weight is a trainable variable');
          const g = grads[v.name];
          assert.deepStrictEqual(g.shape, [2, 32]);
          const gd = g.dataSync();
          assert.ok(gd.some((x) => Math.abs(x) > 1e-4), 'gradient reaches the vectors');
          // central finite difference on one element
          const eps = 1e-2;
          const base = v.dataSync().slice();
          const at = (delta: number) => {
            const d = base.slice();
            d[5] += delta;
            const t = tf.tensor2d(d, [2, 32]);
            v.assign(t);
            t.dispose();
            const l = loss();
            const s = l.dataSync()[0];
            l.dispose();
            return s;
          };
          const fd = (at(eps) - at(-eps)) / (2 * eps);
          const restore = tf.tensor2d(base, [2, 32]);
          v.assign(restore);
          restore.dispose();
          assert.ok(Math.abs(fd - gd[5]) <= 2e-2 * Math.max(1, Math.abs(fd)), `fd ${fd} vs grad ${gd[5]}`);
          value.dispose();
          g.dispose();
        });
      } finally {
        v.dispose();
      }
    });

    it('should name bad override inputs', () => {
      const ids = [tok.call('a dog').inputIds[0]];
      const v = tf.zeros([1, 32]) as tf.Tensor2D;
      const w = tf.zeros([1, 31]) as tf.Tensor2D;
      try {
        assert.throws(() => model.forward(ids, { embeddingOverrides: { positions: [[1, 0]], vectors: v } }), /position \(1, 0\) outside the \[1, 77\] input/);
        assert.throws(() => model.forward(ids, { embeddingOverrides: { positions: [[0, 1]], vectors: w } }), /vectors must be \[1, 32\], found \[1,31\]/);
      } finally {
        v.dispose();
        w.dispose();
      }
    });
  });

  it('should reject ids outside the table and overlong sequences', () => {
    assert.throws(() => model.forward([[49406, 49408]]), /token id 49408 outside the embedding table \(49408 rows\)/);
    assert.throws(() => model.forward([new Array(78).fill(1)]), /sequence length 78 exceeds max_position_embeddings 77/);
  });
});

describe('models/clip/config', () => {
  it('should fill transformers defaults, ignore generic keys, warn on unknown ones', () => {
    const warnings: string[] = [];
    const c = textConfigFrom({ hidden_size: 64, num_attention_heads: 4, use_bfloat16: false, frobnicate: 1 }, (m) => warnings.push(m));
    assert.strictEqual(c.intermediate_size, CLIP_TEXT_DEFAULTS.intermediate_size);
    assert.strictEqual(c.hidden_act, 'quick_gelu');
    assert.strictEqual(warnings.length, 1);
    assert.match(warnings[0], /frobnicate/);
  });
  it('should throw on an activation or head split we do not implement', () => {
    assert.throws(() => textConfigFrom({ hidden_act: 'mish' }, () => {}), /activation "mish" is not supported/);
    assert.throws(() => textConfigFrom({ hidden_size: 30, num_attention_heads: 4 }, () => {}), /not divisible/);
  });
  it('should read the fixture config as written by save_pretrained', () => {
    const dir = fixture('clip-text-tiny');
    if (!dir) return;
    const c = textConfigFrom(require(path.join(dir, 'config.json')), () => assert.fail('no warning expected'));
    assert.strictEqual(c.num_hidden_layers, 2);
  });
});
