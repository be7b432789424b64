import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { ATTRIBUTE_NORM, CONCEPT_COUNT, ConceptEncoder, SUBJECT_DRIFT, conceptKeeper, conceptKeeperGroups, initialiserRow, randomConcepts } from '../../lib/pretrain/concept-keeper';
import { TextConditioner } from '../../lib/pretrain/text-cond';
import { Rng } from '../../lib/random';
import { worldVocabulary } from '../../lib/world/vocabulary';
import { expectNoLeak } from '../helpers/leak';
import { DETEX_MINI as MINI } from '../helpers/pretrain-paths';

const norm = (v: Float32Array) => Math.sqrt(v.reduce((a, x) => a + x * x, 0));

/** `e` with every substituted vector scaled by `k` before it enters the layers: its concepts spread less for k < 1. */
function damped(e: ConceptEncoder, k: number): ConceptEncoder {
  return {
    tokenizer: e.tokenizer,
    encoder: {
      ...e.encoder,
      encode: (ids, subs) => {
        const scaled = subs.map((s) => ({ ...s, vector: tf.mul(s.vector, k) as tf.Tensor1D }));
        try {
          return e.encoder.encode(ids, scaled);
        } finally {
          scaled.forEach((s) => s.vector.dispose());
        }
      },
    },
  };
}

describe('pretrain/concept-keeper', function () {
  this.timeout(60000);

  it('should draw concepts shaped like trained ones around the initialiser row', () => {
    const init = Float32Array.from({ length: 16 }, (_, j) => (j % 2 ? 0.05 : -0.05));
    const cs = randomConcepts(new Rng(3), 4, init, 'cup');
    assert.strictEqual(cs.length, 4);
    for (const c of cs) {
      const v = c.vectors.get('<new1>')!;
      assert.ok(Math.abs(norm(v.map((x, j) => x - init[j])) - SUBJECT_DRIFT * norm(init)) < 1e-4, 'the drift from the row has the measured norm');
      for (const t of ['<new1:p1>', '<new1:b1>']) assert.ok(Math.abs(norm(c.vectors.get(t)!) - ATTRIBUTE_NORM * norm(init)) < 1e-4, t);
      assert.strictEqual(c.classWord, 'cup');
      assert.strictEqual(c.attributeWord, 'view');
    }
    assert.notDeepStrictEqual(cs[0].vectors.get('<new1>'), cs[1].vectors.get('<new1>'));
    const shared = randomConcepts(new Rng(3), 3, init, 'dog', true);
    assert.deepStrictEqual(shared[2].vectors.get('<new1>'), shared[0].vectors.get('<new1>'));
    assert.notDeepStrictEqual(shared[2].vectors.get('<new1:b1>'), shared[0].vectors.get('<new1:b1>'));
    assert.strictEqual(shared[0].attributeWord, 'pose');
  });

  it('should walk the class and background words with the step and draw the same vectors for the same step', () => {
    const init = new Float32Array(8).fill(0.1);
    const voc = worldVocabulary();
    const a = conceptKeeperGroups(5, init, 7);
    assert.deepStrictEqual(a.map((g) => g.name), ['V', 'B']);
    assert.strictEqual(a[0].concepts.length, CONCEPT_COUNT);
    assert.strictEqual(a[0].concepts[0].classWord, voc.classes[5 % voc.classes.length]);
    assert.match(a[0].template, /^a photo of a \{\{V\}\} \{\{class\}\} in .+ background$/);
    assert.ok(!a[0].template.includes('{{B.1}}') && a[1].template.includes('{{B.1}}'));
    assert.deepStrictEqual(conceptKeeperGroups(5, init, 7)[1].concepts[3].vectors.get('<new1:b1>'), a[1].concepts[3].vectors.get('<new1:b1>'), 'a resumed run draws the same');
    const b = conceptKeeperGroups(6, init, 7);
    assert.notStrictEqual(b[0].concepts[0].classWord, a[0].concepts[0].classWord);
    assert.notDeepStrictEqual(b[0].concepts[0].vectors.get('<new1>'), a[0].concepts[0].vectors.get('<new1>'));
    assert.throws(() => conceptKeeperGroups(-1, init, 7), /step must be an integer ≥ 0, got -1/);
  });

  it('should be zero on the frozen encoder itself and pay, with a finite gradient, where the concepts spread less', async () => {
    const trained = TextConditioner.load(MINI, MINI);
    const frozen = TextConditioner.load(MINI, MINI);
    try {
      const ref = frozen.conceptEncoder();
      const init = initialiserRow(ref);
      assert.ok(norm(init) > 0);
      await expectNoLeak(() => {
        const same = conceptKeeper(trained.conceptEncoder(), ref, init, 3, 11);
        assert.strictEqual(same.loss.dataSync()[0], 0);
        assert.ok(Math.abs(same.relative.V.dataSync()[0] - 1) < 1e-4 && Math.abs(same.relative.B.dataSync()[0] - 1) < 1e-4);
        tf.dispose([same.loss, same.relative.V, same.relative.B]);
        // a damped encoder spreads the concepts less: the keeper pays the shortfall, and its gradient reaches the layers
        const vars = trained.trainEncoderLayers();
        const { value, grads } = tf.variableGrads(() => conceptKeeper(damped(trained.conceptEncoder(), 0.3), ref, init, 3, 11).loss, [...vars.values()]);
        const loss = value.dataSync()[0];
        const gnorm = Math.sqrt(Object.values(grads).reduce((a, g) => a + tf.tidy(() => tf.sum(tf.square(g)).dataSync()[0]), 0));
        assert.ok(loss > 0.01, `loss ${loss}`);
        assert.ok(Number.isFinite(gnorm) && gnorm > 0, `gradient norm ${gnorm}`);
        tf.dispose([value, ...Object.values(grads)]);
      });
    } finally {
      trained.dispose();
      frozen.dispose();
    }
  });
});
