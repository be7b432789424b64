import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { DetexConfigInput, effectiveLearningRates, resolveDetexConfig, defaultAttributeWord } from '../../lib/detex/config';
import { AdamW } from '../../lib/detex/adamw';
import { attentionLoss, diffusionLoss, totalLoss } from '../../lib/detex/losses';
import { composePrompt, TemplateError } from '../../lib/detex/composer';
import { checkImageCount, prepareTrainingData } from '../../lib/detex/data';
import { AttributeMapper, initMapperWeights } from '../../lib/detex/mappers';
import { addConceptTokens, conceptTokenStrings } from '../../lib/detex/tokens';
import { CLIPTokenizer } from '../../lib/models/clip/tokenizer';
import { Rng } from '../../lib/random';
import { fixture } from '../helpers/fixtures';
import { expectNoLeak } from '../helpers/leak';
import { squares } from './tiny-models';

describe('detex/config', () => {
  it('should fill the paper defaults', () => {
    const c = resolveDetexConfig({ classWord: 'dog' });
    assert.deepStrictEqual([c.batchSize, c.steps, c.learningRate, c.gamma, c.lambdaPr, c.lambdaCA, c.caDownscale, c.caNorm, c.attributeWord, c.maskedDiffusionLoss], [4, 600, 1e-5, 0.5, 1, 0.01, 2, 'mse', 'pose', false]);
    assert.deepStrictEqual(c.adam, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-2 });
    assert.strictEqual(defaultAttributeWord('backpack'), 'view');
  });
  it('should switch components off for the Custom Diffusion preset', () => {
    const c = resolveDetexConfig({ classWord: 'backpack', preset: 'custom-diffusion' });
    assert.deepStrictEqual([c.attributes, c.lambdaCA, c.gamma], ['none', 0, 0]);
  });
  it('should refuse bad values naming them', () => {
    assert.throws(() => resolveDetexConfig({ classWord: 'dog', gamma: 2 }), /gamma must lie in \[0, 1\]/);
    assert.throws(() => resolveDetexConfig({ classWord: 'dog', batchSize: 4, microBatch: 3 }), /microBatch/);
    assert.strictEqual(resolveDetexConfig({ classWord: 'dog', batchSize: 2 }).microBatch, 2, 'the micro-batch follows the batch size unless given');
    assert.throws(() => resolveDetexConfig({ classWord: 'dog', attributes: 'none' }), /lambdaCA needs/);
    assert.throws(() => resolveDetexConfig({ classWord: 'dog', embeddingLearningRate: -1 }), /embeddingLearningRate must lie in \[0, 1\], got -1/);
    assert.throws(() => resolveDetexConfig({ classWord: 'dog', mapperOutput: 'big' as never }), /mapperOutput must be word or free, got big/);
    assert.throws(() => resolveDetexConfig({ classWord: 'dog', initCandidates: 'red' as never }), /initCandidates must be a list of single words, got "red"/);
    assert.throws(() => resolveDetexConfig({ classWord: 'dog', initCandidates: ['red', 'light blue'] }), /initCandidates must be a list of single words, got \["red","light blue"\]/);
  });
  it("should start [V] from initWord unless candidates are given, and keep its own copy of the caller's list", () => {
    assert.deepStrictEqual(resolveDetexConfig({ classWord: 'dog' }).initCandidates, []);
    const words = ['red', 'blue'];
    const c = resolveDetexConfig({ classWord: 'dog', initCandidates: words });
    words.push('green');
    assert.deepStrictEqual(c.initCandidates, ['red', 'blue']);
  });
  it('should give each group of trainables its learning rate, 0 meaning the main one, scaled alike by scaleLr', () => {
    const rates = (o: Partial<DetexConfigInput>) => effectiveLearningRates(resolveDetexConfig({ classWord: 'dog', learningRate: 1e-4, ...o }));
    assert.deepStrictEqual(rates({}), { kv: 1e-4, embedding: 1e-4, mapper: 1e-4 });
    assert.deepStrictEqual(rates({ embeddingLearningRate: 5e-3, mapperLearningRate: 1e-3 }), { kv: 1e-4, embedding: 5e-3, mapper: 1e-3 });
    // --scale_lr: × batch 2 × 2 with prior preservation
    const scaled = rates({ embeddingLearningRate: 5e-3, scaleLr: true, batchSize: 2 });
    assert.deepStrictEqual([scaled.kv, scaled.embedding, scaled.mapper].map((x) => +x.toPrecision(6)), [4e-4, 2e-2, 4e-4]);
  });
});

describe('detex/adamw', () => {
  it('should match torch.optim.AdamW arithmetic over 3 steps (x=[2], lr 0.1, wd 0.01)', async () => {
    await expectNoLeak(() => {
      const init = tf.tensor1d([1, -2]);
      const p = tf.variable(init, true, 'adamw-test');
      init.dispose();
      const opt = new AdamW(new Map([['p', p]]), { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 });
      let x = [1, -2];
      let m = [0, 0];
      let v = [0, 0];
      const grads = [[0.5, -1], [0.2, 0.3], [-0.4, 0.1]];
      grads.forEach((g, k) => {
        const t = k + 1;
        const gt = tf.tensor1d(g);
        opt.apply(new Map([['p', gt]]), 0.1);
        gt.dispose();
        x = x.map((xi) => xi * (1 - 0.1 * 0.01));
        m = m.map((mi, i) => 0.9 * mi + 0.1 * g[i]);
        v = v.map((vi, i) => 0.999 * vi + 0.001 * g[i] * g[i]);
        x = x.map((xi, i) => xi - (0.1 / (1 - 0.9 ** t)) * m[i] / (Math.sqrt(v[i]) / Math.sqrt(1 - 0.999 ** t) + 1e-8));
      });
      Array.from(p.dataSync()).forEach((a, i) => assert.ok(Math.abs(a - x[i]) < 1e-6, `${a} vs ${x[i]}`));
      opt.dispose();
      p.dispose();
    });
  });
  it('should step each variable with its own rate when given one per name, sharing the step count', async () => {
    await expectNoLeak(() => {
      const zero = tf.zeros([2]);
      const [a, b] = [tf.variable(zero, true, 'adamw-a'), tf.variable(zero, true, 'adamw-b')];
      zero.dispose();
      const opt = new AdamW(new Map([['a', a], ['b', b]]), { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
      const g = () => new Map([['a', tf.tensor1d([1, -1])], ['b', tf.tensor1d([1, -1])]]);
      for (let k = 0; k < 2; k++) {
        const grads = g();
        opt.apply(grads, (name) => (name === 'a' ? 0.1 : 0.001));
        tf.dispose([...grads.values()]);
      }
      // a constant gradient: every bias-corrected Adam step is exactly lr·sign(g)
      assert.ok(Math.abs(a.dataSync()[0] + 0.2) < 1e-6 && Math.abs(b.dataSync()[0] + 0.002) < 1e-8, `${a.dataSync()} ${b.dataSync()}`);
      assert.strictEqual(opt.step, 2);
      opt.dispose();
      tf.dispose([a, b]);
    });
  });
});

const val = (t: tf.Tensor) => {
  const v = t.dataSync()[0];
  t.dispose();
  return v;
};

describe('detex/losses', () => {
  it('should compute L_LDM (eq. 1), masked variant and L_CA (eq. 4) as written', async () => {
    await expectNoLeak(() => {
      const a = [0, 1, 2, 3, 4, 5, 6, 7];
      const b = [1, 1, 0, 3, 2, 5, 6, 9];
      const pred = tf.tensor4d(a, [2, 2, 2, 1]);
      const tgt = tf.tensor4d(b, [2, 2, 2, 1]);
      const se = a.map((x, i) => (x - b[i]) ** 2);
      const l = diffusionLoss(pred, tgt);
      assert.deepStrictEqual(Array.from(l.dataSync()), [(1 + 0 + 4 + 0) / 4, (4 + 0 + 0 + 4) / 4]);
      const mask = tf.tensor4d([1, 0, 1, 0, 0, 0, 0, 1], [2, 2, 2, 1]);
      const lm = diffusionLoss(pred, tgt, mask);
      assert.deepStrictEqual(Array.from(lm.dataSync()), [(se[0] + se[2]) / 2, se[7] / 1]);
      const pm = tf.tensor3d([0.5, 0, 0, 0.5], [1, 2, 2]);
      const bm = tf.tensor3d([0, 0.25, 0.25, 0.5], [1, 2, 2]);
      const m = tf.tensor3d([1, 0, 0, 0], [1, 2, 2]);
      const ca = val(attentionLoss(pm, bm, m, [1], 'mse'));
      const want = (0.25 + 0 + 0 + 0.25) / 4 + (0 + 0.5625 + 0.5625 + 0.25) / 4;
      assert.ok(Math.abs(ca - want) < 1e-7);
      const caSkip = val(attentionLoss(pm, bm, m, [0], 'mse'));
      assert.ok(Math.abs(caSkip - 0.125) < 1e-7);
      const caMax = val(attentionLoss(pm, bm, m, [0], 'max-normalised'));
      assert.ok(Math.abs(caMax - (0 + 0 + 0 + 1) / 4) < 1e-6);
      const t = tf.tidy(() => totalLoss(tf.scalar(1), tf.scalar(2), tf.scalar(3), 0.5, 0.1));
      assert.ok(Math.abs(t.dataSync()[0] - 2.3) < 1e-6);
      tf.dispose([pred, tgt, l, mask, lm, pm, bm, m, t]);
    });
  });
});

describe('detex/data', () => {
  it('should refuse 0 images, warn on 1', () => {
    assert.throws(() => checkImageCount(0, () => undefined), /no training images/);
    const w: string[] = [];
    checkImageCount(1, (m) => w.push(m));
    assert.match(w[0], /degenerate/);
  });
  it('should build x·m + blank·(1−m) and masks at the CA size', async () => {
    await expectNoLeak(() => {
      const d = prepareTrainingData(squares(2), { resolution: 32, latentSize: [4, 4], caSize: [2, 2], blank: [1, 1, 1] });
      const f = d.filtered.arraySync() as number[][][][];
      const mk = d.masks.arraySync() as number[][][][];
      const im = d.images.arraySync() as number[][][][];
      for (const [y, x] of [[0, 0], [16, 12], [31, 31]]) {
        const want = mk[0][y][x][0] ? im[0][y][x] : [1, 1, 1];
        f[0][y][x].forEach((v, k) => assert.ok(Math.abs(v - want[k]) < 1e-6));
      }
      assert.deepStrictEqual(d.masksCA.shape, [2, 2, 2]);
      assert.deepStrictEqual(d.masksLatent.shape, [2, 4, 4, 1]);
      d.dispose();
    });
  });
});

describe('detex/mappers', () => {
  it('should be 3 linear layers in → hidden → hidden → out (768s: 1,771,776 parameters)', async () => {
    const dims = { inDim: 24, hidden: 32, outDim: 32 };
    await expectNoLeak(() => {
      const m = new AttributeMapper(dims, initMapperWeights(dims, new Rng(0)), 'leaky_relu');
      const y = tf.tidy(() => m.apply(tf.ones([3, 24]) as tf.Tensor2D));
      assert.deepStrictEqual(y.shape, [3, 32]);
      y.dispose();
      m.dispose();
    });
    const big = initMapperWeights({ inDim: 768, hidden: 768, outDim: 768 }, new Rng(0));
    assert.strictEqual([...big.values()].reduce((s, h) => s + h.data.length, 0), 1771776);
  });
  it('should rescale every output row to outputNorm when given one, keeping its direction', async () => {
    const dims = { inDim: 8, hidden: 16, outDim: 16 };
    await expectNoLeak(() => {
      const plain = new AttributeMapper(dims, initMapperWeights(dims, new Rng(1)));
      const scaled = new AttributeMapper(dims, initMapperWeights(dims, new Rng(1)), 'gelu', 0.25);
      const x = tf.randomNormal([3, 8], 0, 5, 'float32', 2) as tf.Tensor2D;
      const [p, s] = [plain.apply(x), scaled.apply(x)];
      const norms = tf.tidy(() => tf.sqrt(tf.sum(tf.square(s), 1)).arraySync() as number[]);
      norms.forEach((n) => assert.ok(Math.abs(n - 0.25) < 1e-5, `row norm ${n}`));
      const cos = tf.tidy(() => tf.div(tf.sum(tf.mul(p, s), 1), tf.mul(tf.sqrt(tf.sum(tf.square(p), 1)), tf.sqrt(tf.sum(tf.square(s), 1)))).arraySync() as number[]);
      cos.forEach((c) => assert.ok(c > 1 - 1e-5, `direction changed: cos ${c}`));
      tf.dispose([x, p, s]);
      plain.dispose();
      scaled.dispose();
    });
    assert.throws(() => new AttributeMapper(dims, initMapperWeights(dims, new Rng(1)), 'gelu', 0), /outputNorm must be a positive number, got 0/);
  });
});

describe('detex/composer', () => {
  const dir = fixture('clip-tokenizer');
  const C = 4;
  const tokens = conceptTokenStrings('<new1>', 4, true);
  const vec = (k: number) => new Float32Array(C).fill(k);
  const voc = {
    tokens, classWord: 'dog', attributeWord: 'pose',
    vectors: new Map([[tokens.subject, vec(9)], ...tokens.pose.map((t, i) => [t, vec(10 + i)] as [string, Float32Array]), ...tokens.background.map((t, i) => [t, vec(20 + i)] as [string, Float32Array])]),
  };
  it('should render, tokenize and locate pseudo-words from different images', function () {
    if (!dir) this.skip();
    const tk = CLIPTokenizer.fromFolder(dir!);
    addConceptTokens(tk, tokens);
    const p = composePrompt('{{V}} {{class}} with {{P.2}} {{attribute}} in {{B.4}} background', tk, voc);
    assert.strictEqual(p.text, '<new1> dog with <new1:p2> pose in <new1:b4> background');
    assert.strictEqual(p.plainText, 'dog with pose in background');
    assert.deepStrictEqual(p.substitutions.map((s) => [s.position, s.token, s.vector[0]]), [[1, '<new1>', 9], [4, '<new1:p2>', 11], [7, '<new1:b4>', 23]]);
    assert.strictEqual(tk.idToToken(p.inputIds[4]), '<new1:p2>');
    const cat = composePrompt('a cat in {{B.1}} background', tk, voc);
    assert.deepStrictEqual(cat.substitutions.map((s) => s.token), ['<new1:b1>']);
  });
  it('should name unknown placeholders', function () {
    if (!dir) this.skip();
    const tk = CLIPTokenizer.fromFolder(dir!);
    assert.throws(() => composePrompt('a {{V}} {{animal}} with {{P.7}}', tk, voc), (e: Error) => e instanceof TemplateError && /\{\{animal\}\}, \{\{P\.7\}\}/.test(e.message));
    assert.throws(() => composePrompt('{{#V}}x{{/V}}', tk, voc), /sections/);
  });
});
