import * as tf from '@tensorflow/tfjs-core';
import { fromTfSync, toTf } from '../../../lib/io/host-tensor';
import { loadSamFromFolder } from '../../../lib/models/sam/build';
import { Sam } from '../../../lib/models/sam/sam';
import { expectNoLeak } from '../../helpers/leak';
import { SamFixture, assertMatches } from './sam-fixture';

describe('models/sam/image-encoder (sam-tiny image_encoder: window 3 on an 8×8 grid, global block 1)', function () {
  const fx = SamFixture.open();
  if (!fx) return;
  let sam: Sam;
  before(() => (sam = loadSamFromFolder(fx.dir)));
  after(() => sam?.dispose());

  it('should give image_embeddings [1,32,8,8] within tolerance, without leaking', async () => {
    const c = fx.case('image_encoder');
    await expectNoLeak(() => {
      const y = tf.tidy(() => tf.transpose(sam.imageEncoder.apply(tf.transpose(toTf(c.get('input_image')), [0, 2, 3, 1]) as tf.Tensor4D), [0, 3, 1, 2]));
      const err = assertMatches('image_embeddings', fromTfSync(y), c.get('image_embeddings'), c.kase.expected!.image_embeddings);
      console.log(`      image_embeddings max abs err ${err.toExponential(2)}`);
      y.dispose();
    });
  });

  it('should name the expected NHWC shape when given NCHW', () => {
    const x = tf.zeros([1, 3, 128, 128]) as tf.Tensor4D;
    try {
      require('assert').throws(() => sam.imageEncoder.apply(x), /input must be \[B, 128, 128, 3\] \(NHWC\), got \[1,3,128,128\]/);
    } finally {
      x.dispose();
    }
  });
});
