import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { AttributeHead, HEAD_VALUES, captionLabels } from '../../lib/pretrain/attribute-head';
import { expectNoLeak } from '../helpers/leak';

describe('pretrain/attribute-head (an auxiliary read-out of the subject from a UNet hidden state)', () => {
  it('reads the labels from a world caption, plain when no pattern word is there, none from a dropped caption', () => {
    const l = captionLabels('a photo of a red striped ball with tilted pose in grass background')!;
    assert.deepEqual(l, { class: HEAD_VALUES.class.indexOf('ball'), colour: HEAD_VALUES.colour.indexOf('red'), pattern: HEAD_VALUES.pattern.indexOf('stripes') });
    assert.equal(captionLabels('a photo of an orange cup with side view pose in night sky background')!.pattern, HEAD_VALUES.pattern.indexOf('plain'));
    assert.equal(captionLabels('a photo of a blue checked cube with front view pose in studio background')!.pattern, HEAD_VALUES.pattern.indexOf('checks'));
    assert.equal(captionLabels(''), undefined);
  });

  it('pools over the subject only, learns the labels, and passes its gradient into the features', async () => {
    await expectNoLeak(() => {
      const head = new AttributeHead(8, 16, 1);
      const captions = ['a photo of a red striped ball with tilted pose in grass background', 'a photo of a blue dotted cup with upright pose in snow background', ''];
      // the attributes are written into the subject's features; the background carries the opposite, to be ignored
      const masks = tf.tidy(() => tf.concat([tf.zeros([3, 8, 4, 1]), tf.ones([3, 8, 4, 1])], 2)) as tf.Tensor4D;
      const features = tf.tidy(() => tf.variable(tf.tidy(() => {
        const subject = tf.tensor4d([1, 0, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [3, 1, 1, 8]).tile([1, 4, 2, 1]);
        return tf.concat([tf.neg(subject), subject], 2) as tf.Tensor4D;
      })));
      const first = head.loss(features as unknown as tf.Tensor4D, masks, captions)!;
      const before = first.loss.dataSync()[0];
      tf.dispose([first.loss, ...Object.values(first.accuracy)]);
      // plain gradient descent on the head only
      for (let i = 0; i < 150; i++) {
        tf.tidy(() => {
          const { grads } = tf.variableGrads(() => head.loss(features as unknown as tf.Tensor4D, masks, captions)!.loss, [...head.vars.values()]);
          for (const v of head.vars.values()) v.assign(tf.sub(v, tf.mul(0.3, grads[v.name])));
        });
      }
      const after = head.loss(features as unknown as tf.Tensor4D, masks, captions)!;
      assert.ok(after.loss.dataSync()[0] < 0.1 * before, `${before} → ${after.loss.dataSync()[0]}`);
      assert.equal(after.accuracy.pattern.dataSync()[0], 1);
      tf.dispose([after.loss, ...Object.values(after.accuracy)]);
      // the background's features do not reach the pooled vector: zero gradient there
      const [bg, fg] = tf.tidy(() => {
        const { grads } = tf.variableGrads(() => head.loss(features as unknown as tf.Tensor4D, masks, captions)!.loss, [features]);
        const g = grads[features.name];
        return [tf.sum(tf.abs(tf.slice(g, [0, 0, 0, 0], [3, 4, 2, 8]))).dataSync()[0], tf.sum(tf.abs(tf.slice(g, [0, 0, 2, 0], [3, 4, 2, 8]))).dataSync()[0]];
      });
      assert.equal(bg, 0);
      assert.ok(fg > 0);
      assert.equal(head.loss(features as unknown as tf.Tensor4D, masks, ['', '', '']), undefined, 'no labelled item, no term');
      tf.dispose([masks, features]);
      head.dispose();
    });
  });
});
