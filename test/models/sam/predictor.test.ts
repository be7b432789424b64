import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { fromTfSync, hostTensor, toTf } from '../../../lib/io/host-tensor';
import { loadSamFromFolder } from '../../../lib/models/sam/build';
import { SamPredictor } from '../../../lib/models/sam/predictor';
import { Sam, postprocessUpscale } from '../../../lib/models/sam/sam';
import { runSamPrompt } from '../../../lib/parity/runners/sam';
import { expectNoLeak } from '../../helpers/leak';
import { SamFixture, assertMatches } from './sam-fixture';

describe('models/sam/predictor (SamPredictor.predict on sam-tiny)', function () {
  const fx = SamFixture.open();
  if (!fx) return;
  let sam: Sam;
  before(() => (sam = loadSamFromFolder(fx.dir)));
  after(() => sam?.dispose());

  for (const name of fx.promptCaseNames()) {
    it(`should match every expected tensor of ${name} from original-pixel prompts`, async () => {
      const c = fx.case(name);
      const expected = c.kase.expected!;
      await expectNoLeak(() => {
        const out = runSamPrompt(
          sam,
          c.tensors,
          {
            originalSize: c.kase.args!.original_size_hw as [number, number],
            inputSize: c.kase.args!.input_size_hw as [number, number],
            multimaskOutput: Boolean(c.kase.args!.multimask_output),
          },
          Object.keys(expected),
        );
        const errs: string[] = [];
        for (const k of Object.keys(expected)) {
          const err = assertMatches(k, out.get(k)!, c.get(k), expected[k]);
          errs.push(`${k} ${err.toExponential(2)}`);
        }
        console.log(`      ${errs.join(', ')}`);
      });
    });
  }

  for (const name of ['point_multimask', 'box_single']) {
    it(`should upscale low_res_masks to masks_at_img_size [1,M,128,128] (${name})`, async () => {
      const c = fx.case(name);
      await expectNoLeak(() => {
        const up = tf.tidy(() => {
          const low = tf.transpose(toTf(c.get('low_res_masks')), [0, 2, 3, 1]) as tf.Tensor4D;
          return tf.transpose(postprocessUpscale(low, 128), [0, 3, 1, 2]);
        });
        assertMatches('masks_at_img_size', fromTfSync(up), c.get('masks_at_img_size'), c.kase.intermediates!.masks_at_img_size);
        up.dispose();
      });
    });
  }

  it('should refuse predict before setImage, and again after reset()', () => {
    const p = new SamPredictor(sam);
    assert.throws(() => p.predict({}), /an image must be set with setImage\(\.\.\.\) before mask prediction/);
    const emb = tf.zeros([1, 8, 8, 32]) as tf.Tensor4D;
    p.setImageEmbedding(emb, [150, 200]);
    emb.dispose();
    assert.ok(p.isImageSet);
    p.reset();
    assert.ok(!p.isImageSet);
    assert.throws(() => p.predict({}), /an image must be set/);
  });

  it('should refuse points without labels and mis-shaped prompts, naming them', () => {
    const p = new SamPredictor(sam);
    const emb = tf.zeros([1, 8, 8, 32]) as tf.Tensor4D;
    p.setImageEmbedding(emb, [150, 200]);
    emb.dispose();
    try {
      const pts = hostTensor('float32', [1, 2], Float32Array.from([3, 4]));
      assert.throws(() => p.predict({ pointCoords: pts }), /pointLabels must be supplied with pointCoords/);
      assert.throws(() => p.predict({ box: hostTensor('float32', [3], new Float32Array(3)) }), /box must be \(4\) or \(1, 4\)/);
      assert.throws(() => p.predict({ maskInput: hostTensor('float32', [1, 8, 8], new Float32Array(64)) }), /maskInput must be \(1, 32, 32\)/);
      assert.throws(() => p.setImageEmbedding(tf.zeros([1, 4, 4, 32]) as tf.Tensor4D, [10, 10]), /expected \[1, 8, 8, 32\] \(NHWC\)/);
    } finally {
      p.dispose();
    }
  });

  it('should run setImage end to end: PIL resize, normalise, pad, encode = image_encoder golden', async () => {
    const pre = fx.case('preprocess');
    const enc = fx.case('image_encoder');
    await expectNoLeak(() => {
      const p = new SamPredictor(sam);
      p.setImage(pre.get('image_uint8'));
      const emb = p.getImageEmbedding();
      const nchw = tf.transpose(emb, [0, 3, 1, 2]);
      assertMatches('image_embeddings', fromTfSync(nchw), enc.get('image_embeddings'), enc.kase.expected!.image_embeddings);
      // and a prompt on top of it reproduces point_multimask
      const c = fx.case('point_multimask');
      const out = p.predict({ pointCoords: c.get('point_coords'), pointLabels: c.get('point_labels'), multimaskOutput: true });
      assert.deepStrictEqual(out.masks.shape, [3, 150, 200]);
      assert.strictEqual(out.masks.dtype, 'uint8');
      const low = hostTensor('float32', [1, ...out.lowResMasks.shape], out.lowResMasks.data);
      assertMatches('low_res_masks', low, c.get('low_res_masks'), c.kase.expected!.low_res_masks);
      tf.dispose([emb, nchw]);
      p.dispose();
    });
  });
});
