import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { fromTfSync, toTf } from '../../../lib/io/host-tensor';
import { loadSamFromFolder } from '../../../lib/models/sam/build';
import { Sam } from '../../../lib/models/sam/sam';
import { expectNoLeak } from '../../helpers/leak';
import { SamFixture, assertMatches } from './sam-fixture';

describe('models/sam/mask-decoder (sam-tiny, from the cases\' sparse/dense intermediates)', function () {
  const fx = SamFixture.open();
  if (!fx) return;
  let sam: Sam;
  before(() => (sam = loadSamFromFolder(fx.dir)));
  after(() => sam?.dispose());

  for (const name of fx.promptCaseNames()) {
    it(`should give low_res_masks and iou_predictions of ${name}`, async () => {
      const c = fx.case(name);
      const multimask = Boolean(c.kase.args?.multimask_output);
      await expectNoLeak(() => {
        const [masks, iou] = tf.tidy(() => {
          const nhwc = (n: string) => tf.transpose(toTf(c.get(n)), [0, 2, 3, 1]) as tf.Tensor4D;
          const out = sam.maskDecoder.apply(
            nhwc('image_embeddings'),
            sam.promptEncoder.getDensePe(),
            toTf(c.get('sparse_embeddings')) as tf.Tensor3D,
            nhwc('dense_embeddings'),
            multimask,
          );
          return [tf.transpose(out.masks, [0, 3, 1, 2]), out.iouPredictions];
        });
        const e = c.kase.expected!;
        assert.strictEqual(masks.shape[1], multimask ? 3 : 1);
        assertMatches('low_res_masks', fromTfSync(masks), c.get('low_res_masks'), e.low_res_masks);
        assertMatches('iou_predictions', fromTfSync(iou), c.get('iou_predictions'), e.iou_predictions);
        tf.dispose([masks, iou]);
      });
    });
  }
});
