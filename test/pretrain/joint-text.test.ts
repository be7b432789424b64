import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { SafetensorsReader } from '../../lib/io/safetensors';
import { AdamW } from '../../lib/detex/adamw';
import { JointTextTraining } from '../../lib/pretrain/joint-text';
import { textAnchorLoss } from '../../lib/pretrain/text-anchor';
import { TextConditioner } from '../../lib/pretrain/text-cond';
import { expectNoLeak } from '../helpers/leak';
import { tempDirs } from '../helpers/temp-dir';
import { DETEX_MINI as MINI } from '../helpers/pretrain-paths';

const TOKENIZER = path.join(MINI, 'tokenizer');
const CAPTIONS = ['a photo of a red striped ball with tilted pose in grass background', 'a photo of a blue dotted cup with upright pose in snow background', ''];

const keysOf = (file: string): string[] => {
  const r = SafetensorsReader.open(file);
  try {
    return r.keys().sort();
  } finally {
    r.close();
  }
};

describe('pretrain/joint-text', () => {
  const dirs = tempDirs();

  /** A model folder holding only a copy of detex-mini's text encoder, as `unet.js --out` would. */
  const outWithTextEncoder = (): string => {
    const out = dirs('detex-joint-');
    fs.mkdirSync(path.join(out, 'text_encoder'));
    for (const f of ['config.json', 'model.safetensors']) fs.copyFileSync(path.join(MINI, 'text_encoder', f), path.join(out, 'text_encoder', f));
    return out;
  };

  it('should measure 1 − cosine of the pooled embeddings, blind to their length', async () => {
    await expectNoLeak(() => {
      const read = (a: number[][], b: number[][]) => tf.tidy(() => textAnchorLoss(tf.tensor2d(a), tf.tensor2d(b)).dataSync()[0]);
      assert.ok(Math.abs(read([[1, 2]], [[3, 6]])) < 1e-6);
      assert.ok(Math.abs(read([[1, 0]], [[0, 5]]) - 1) < 1e-6);
      assert.ok(Math.abs(read([[1, 0], [1, 0]], [[-1, 0], [1, 0]]) - 1) < 1e-6); // mean of 2 and 0
      assert.throws(() => tf.tidy(() => textAnchorLoss(tf.zeros([2, 3]) as tf.Tensor2D, tf.zeros([2, 4]) as tf.Tensor2D)), /\[2,3\] against reference \[2,4\]/);
    });
  });

  it('should train the encoder layers only, anchored to a frozen copy, and export a loadable text_encoder', async () => {
    if (!fs.existsSync(path.join(MINI, 'text_encoder', 'model.safetensors'))) return;
    const out = outWithTextEncoder();
    const cache = dirs('detex-joint-cache-');
    const original = keysOf(path.join(out, 'text_encoder', 'model.safetensors'));
    let trainedLast: number[] = [];
    await expectNoLeak(() => {
      const text = TextConditioner.load(out, TOKENIZER);
      const joint = JointTextTraining.start(text, out, cache, TOKENIZER, false);
      const names = [...joint.vars.keys()];
      assert.ok(names.length > 0 && names.every((n) => n.startsWith('text_encoder/text_model.encoder.') || n.startsWith('text_encoder/text_model.final_layer_norm.') || n === 'text_encoder/text_projection.weight'), names.join(', '));
      assert.ok(names.includes('text_encoder/text_projection.weight'));

      const anchorNow = () => tf.tidy(() => joint.embed(CAPTIONS).anchor.dataSync()[0]);
      assert.ok(anchorNow() < 1e-5, 'the trained copy starts where its reference is');

      // One large step on a loss that only the hidden states feel: the anchor then sees the move.
      const adam = new AdamW(joint.vars, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
      const { grads, value } = tf.variableGrads(() => {
        const { ehs, anchor } = joint.embed(CAPTIONS);
        anchor.dispose();
        return tf.mean(tf.square(tf.sub(ehs, 1))) as tf.Scalar;
      }, [...joint.vars.values()]);
      value.dispose();
      const byName = new Map([...joint.vars].map(([n, v]) => [n, grads[v.name]!]));
      adam.apply(byName, 1e-2);
      for (const g of Object.values(grads)) g.dispose();
      adam.dispose();
      assert.ok(anchorNow() > 1e-3, `anchor after a step: ${anchorNow()}`);

      joint.export(out, 1);
      trainedLast = tf.tidy(() => Array.from(text.embed(CAPTIONS.slice(0, 1)).dataSync()));
      joint.dispose();
      text.dispose();
    });
    assert.deepStrictEqual(keysOf(path.join(out, 'text_encoder', 'model.safetensors')), original);
    assert.deepStrictEqual(keysOf(path.join(cache, 'text-reference', 'text_encoder', 'model.safetensors')), original);
    // the export holds the trained weights (F16), the reference the original ones
    const reloaded = TextConditioner.load(out, TOKENIZER);
    const reference = TextConditioner.load(path.join(cache, 'text-reference'), TOKENIZER);
    const [a, r] = [reloaded, reference].map((t) => tf.tidy(() => Array.from(t.embed(CAPTIONS.slice(0, 1)).dataSync())));
    reloaded.dispose();
    reference.dispose();
    const maxDiff = (x: number[], y: number[]) => x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0);
    assert.ok(maxDiff(a, trainedLast) < 0.05, `export vs trained: ${maxDiff(a, trainedLast)}`);
    assert.ok(maxDiff(r, trainedLast) > 0.1, `reference vs trained: ${maxDiff(r, trainedLast)}`);
  });

  it('should refuse to resume without the reference it anchored to, naming the folder', () => {
    const cache = dirs('detex-joint-cache-');
    assert.throws(() => JointTextTraining.start({} as TextConditioner, outWithTextEncoder(), cache, TOKENIZER, true), /holds a checkpoint but no text-reference\/text_encoder/);
  });
});
