import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { HostTensor, fromTfSync, toTf } from '../../../lib/io/host-tensor';
import { loadSamFromFolder } from '../../../lib/models/sam/build';
import { Sam } from '../../../lib/models/sam/sam';
import { expectNoLeak } from '../../helpers/leak';
import { SamCase, SamFixture, assertMatches } from './sam-fixture';

/** Prompt encoder on the case's *_transformed inputs (model frame), outputs in PyTorch layout. */
function encode(sam: Sam, c: SamCase): { sparse: HostTensor; dense: HostTensor } {
  const has = (n: string) => c.tensors.has(n);
  const [s, d] = tf.tidy(() => {
    const { sparse, dense } = sam.promptEncoder.apply({
      pointCoords: has('point_coords_transformed') ? (toTf(c.get('point_coords_transformed')) as tf.Tensor3D) : undefined,
      pointLabels: has('point_labels') ? Int32Array.from(c.get('point_labels').data) : undefined,
      boxes: has('box_transformed') ? (toTf(c.get('box_transformed')) as tf.Tensor2D) : undefined,
      masks: has('mask_input') ? (tf.transpose(toTf(c.get('mask_input')), [0, 2, 3, 1]) as tf.Tensor4D) : undefined,
    });
    return [sparse, tf.transpose(dense, [0, 3, 1, 2])];
  });
  try {
    return { sparse: fromTfSync(s), dense: fromTfSync(d) };
  } finally {
    tf.dispose([s, d]);
  }
}

describe('models/sam/prompt-encoder (sam-tiny)', function () {
  const fx = SamFixture.open();
  if (!fx) return;
  let sam: Sam;
  before(() => (sam = loadSamFromFolder(fx.dir)));
  after(() => sam?.dispose());

  it('should give get_dense_pe() [1,32,8,8] (dense_pe)', async () => {
    const c = fx.case('dense_pe');
    await expectNoLeak(() => {
      const pe = tf.tidy(() => tf.transpose(sam.promptEncoder.getDensePe(), [0, 3, 1, 2]));
      assertMatches('image_pe', fromTfSync(pe), c.get('image_pe'), c.kase.expected!.image_pe);
      pe.dispose();
    });
  });

  for (const name of ['point_single', 'points_multimask', 'box_single', 'box_and_point', 'point_with_mask_input']) {
    it(`should give sparse and dense embeddings of ${name}`, async () => {
      const c = fx.case(name);
      await expectNoLeak(() => {
        const { sparse, dense } = encode(sam, c);
        assertMatches('sparse_embeddings', sparse, c.get('sparse_embeddings'), c.kase.intermediates!.sparse_embeddings);
        assertMatches('dense_embeddings', dense, c.get('dense_embeddings'), c.kase.intermediates!.dense_embeddings);
      });
    });
  }

  it('should append the padding point only without a box: 1 point → 2 tokens, box+point → 3 tokens', () => {
    assert.deepStrictEqual(encode(sam, fx.case('point_single')).sparse.shape, [1, 2, 32]);
    assert.deepStrictEqual(encode(sam, fx.case('box_and_point')).sparse.shape, [1, 3, 32]);
  });

  it('should give zero sparse tokens and broadcast no_mask_embed without prompts', () => {
    const { sparse, dense } = tf.tidy(() => sam.promptEncoder.apply({}) as unknown as tf.TensorContainerObject) as unknown as { sparse: tf.Tensor; dense: tf.Tensor };
    assert.deepStrictEqual(sparse.shape, [1, 0, 32]);
    assert.deepStrictEqual(dense.shape, [1, 8, 8, 32]);
    tf.dispose([sparse, dense]);
  });

  it('should refuse points without labels', () => {
    const p = tf.zeros([1, 1, 2]) as tf.Tensor3D;
    try {
      assert.throws(() => sam.promptEncoder.apply({ pointCoords: p }), /coordinates and point labels must be given together/);
    } finally {
      p.dispose();
    }
  });
});
