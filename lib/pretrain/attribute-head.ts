/**
 * An auxiliary head that reads the subject's class, colour and pattern from one of the UNet's hidden states,
 * trained with the UNet and thrown away after (it is not exported).
 *
 * Why: fourteen sessions left the pattern words unused while the UNet drew textures the seed chose. Like REPA
 * (Yu et al. 2024: aligning a diffusion model's early hidden states with a good encoder's features speeds its
 * training many times over), this asks the network to *represent* what it must draw, at every noise level;
 * unlike REPA the target is the world's ground truth (the caption's words), not another network, so nothing
 * here is tuned towards the classifier that later scores the samples. At high noise only the caption can tell
 * the head the pattern, so the term pulls the caption's pattern into the subject's features, where the up path
 * draws from.
 *
 * The head: the hidden state averaged over the subject's mask (area-weighted on its grid) → Linear → SiLU →
 * one Linear per attribute → cross-entropy against the caption's word, averaged over the attributes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../random';
import { worldVocabulary } from '../world/vocabulary';
import { findSubjectWords } from './caption-attributes';
import { maskOnGrid } from './mask-grid';

export type HeadAttribute = 'class' | 'colour' | 'pattern';

const VOCAB = worldVocabulary();

/** Each attribute's values in label order. */
export const HEAD_VALUES: Readonly<Record<HeadAttribute, readonly string[]>> = {
  class: VOCAB.classes,
  colour: VOCAB.colours,
  pattern: VOCAB.patterns,
};

const ATTRIBUTES = Object.keys(HEAD_VALUES) as HeadAttribute[];

/**
 * The subject's labels from a world caption ("a photo of a red striped ball with …"); no pattern word is
 * 'plain'. Undefined for a caption that names no class or colour (e.g. a dropped one).
 */
export function captionLabels(caption: string): Record<HeadAttribute, number> | undefined {
  const found = findSubjectWords(caption);
  if (!found || found.colour < 0) return undefined;
  const { words } = found;
  const pattern = found.pattern < 0 ? 'plain' : VOCAB.patterns.find((p) => VOCAB.patternWords[p] === words[found.pattern]);
  if (pattern === undefined) throw new Error(`attribute head: the pattern word "${words[found.pattern]}" names no pattern`);
  return { class: HEAD_VALUES.class.indexOf(words[found.class]), colour: HEAD_VALUES.colour.indexOf(words[found.colour]), pattern: HEAD_VALUES.pattern.indexOf(pattern) };
}

export interface HeadLoss {
  /** mean cross-entropy over the attributes and the labelled items */
  loss: tf.Scalar;
  /** per attribute, the share of labelled items the head gets right (for the log) */
  accuracy: Record<HeadAttribute, tf.Scalar>;
}

export class AttributeHead {
  readonly vars: Map<string, tf.Variable>;

  /** `channels` of the hidden state it reads; the hidden layer seeded (He scale), the read-outs and biases zero. */
  constructor(channels: number, hidden: number, seed: number) {
    const rng = new Rng(seed).fork('attribute-head');
    // tidy disposes the initial values; the variables hold their own copies
    const variable = (name: string, init: () => tf.Tensor): [string, tf.Variable] => [name, tf.tidy(() => tf.variable(init(), true, name))];
    const dense = (name: string, n: number, m: number, scale: number): [string, tf.Variable][] => [
      variable(`attribute_head/${name}.weight`, () => tf.tensor2d(rng.normal([n * m]).map((x) => x * scale), [n, m])),
      variable(`attribute_head/${name}.bias`, () => tf.zeros([m])),
    ];
    // zero read-outs: the head starts at uniform guesses, so its first loss is the mean log of the value counts
    this.vars = new Map([
      ...dense('hidden', channels, hidden, Math.sqrt(2 / channels)),
      ...ATTRIBUTES.flatMap((a) => dense(a, hidden, HEAD_VALUES[a].length, 0)),
    ]);
  }

  private v(name: string): tf.Variable {
    return this.vars.get(`attribute_head/${name}`)!;
  }

  /** Logits per attribute for features [B, h, w, C] pooled over masks [B, S, S, 1]; caller owns them. */
  logits(features: tf.Tensor4D, masks: tf.Tensor4D): Record<HeadAttribute, tf.Tensor2D> {
    return tf.tidy(() => {
      const [, h, w] = features.shape;
      const area = maskOnGrid(masks, h, w, 'AttributeHead');
      const pooled = tf.div(tf.sum(tf.mul(features, area), [1, 2]), tf.add(tf.sum(area, [1, 2]), 1e-6)) as tf.Tensor2D;
      const pre = tf.add(tf.matMul(pooled, this.v('hidden.weight')), this.v('hidden.bias'));
      const hid = tf.mul(pre, tf.sigmoid(pre)) as tf.Tensor2D;
      const out = {} as Record<HeadAttribute, tf.Tensor2D>;
      for (const a of ATTRIBUTES) out[a] = tf.add(tf.matMul(hid, this.v(`${a}.weight`)), this.v(`${a}.bias`)) as tf.Tensor2D;
      return out;
    });
  }

  /** The loss on the items whose caption names their subject (undefined when none does). */
  loss(features: tf.Tensor4D, masks: tf.Tensor4D, captions: readonly string[]): HeadLoss | undefined {
    const labels = captions.map(captionLabels);
    const keep = labels.flatMap((l, i) => (l ? [i] : []));
    if (keep.length === 0) return undefined;
    return tf.tidy(() => {
      const at = tf.tensor1d(keep, 'int32');
      const logits = this.logits(tf.gather(features, at) as tf.Tensor4D, tf.gather(masks, at) as tf.Tensor4D);
      const accuracy = {} as Record<HeadAttribute, tf.Scalar>;
      const terms = ATTRIBUTES.map((a) => {
        const y = tf.tensor1d(keep.map((i) => labels[i]![a]), 'int32');
        accuracy[a] = tf.mean(tf.cast(tf.equal(tf.argMax(logits[a], 1), y), 'float32')) as tf.Scalar;
        const logp = tf.logSoftmax(logits[a]);
        return tf.neg(tf.mean(tf.sum(tf.mul(logp, tf.oneHot(y, HEAD_VALUES[a].length)), 1)));
      });
      return { loss: tf.div(tf.addN(terms), ATTRIBUTES.length) as tf.Scalar, accuracy };
    });
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
  }
}
