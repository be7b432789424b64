/**
 * A small CNN that reads the procedural world's attributes from pixels: subject class, body colour, pattern
 * and background kind, one softmax head each. It measures whether a generated image shows what its prompt
 * named (the world oracle reads only background and colour, and detex-mini's CLIP-style image encoder is too
 * weak zero-shot for class and pattern). Trained by scripts/pretrain/classifier.ts on train-split renders;
 * exported to `<model>/attribute_classifier/` (config.json + F16 model.safetensors).
 *
 * Architecture (NHWC, input in [−1, 1], `image_size` px): a 3×3 stem (stride 2 by default: a full-resolution
 * stem made a training step ~5× slower on the shared CPU), then per stage a stride-2 3×3
 * convolution and a residual 3×3 convolution, each GroupNorm + SiLU; global mean and max pooling; a linear head
 * per attribute. The label lists are the world vocabulary's (`worldVocabulary()`), stored in the config so a
 * folder trained on another vocabulary fails to load instead of mislabelling.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { HostTensor } from '../io/host-tensor';
import { Conv2d } from '../nn/conv2d';
import { Linear } from '../nn/linear';
import { GroupNorm } from '../nn/norms';
import { silu } from '../nn/activations';
import { ParamStore } from '../nn/params';
import { worldVocabulary } from '../world/vocabulary';

export const WORLD_ATTRIBUTES = ['class', 'colour', 'pattern', 'background'] as const;
export type WorldAttribute = (typeof WORLD_ATTRIBUTES)[number];

export const ATTRIBUTE_CLASSIFIER_CLASS = 'WorldAttributeClassifier';
export const ATTRIBUTE_CLASSIFIER_WEIGHTS = 'model.safetensors';

export interface AttributeClassifierConfig {
  _class_name: typeof ATTRIBUTE_CLASSIFIER_CLASS;
  image_size: number;
  stem_channels: number;
  /** stride of the stem convolution (2 halves every later cost) */
  stem_stride: number;
  /** output channels of each stride-2 stage */
  stage_channels: number[];
  norm_groups: number;
  norm_eps: number;
  /** 'mean_max': global mean and max pooling concatenated (the subject covers ~5–15% of the image; the max
   * keeps its features from being averaged away by the background); 'mean': global average pooling */
  pooling: 'mean' | 'mean_max';
  /** the labels of each head, in logit order */
  labels: Record<WorldAttribute, string[]>;
  [extra: string]: unknown;
}

/** The world's labels per attribute (the vocabulary itself, never a copy). */
export function worldAttributeLabels(): Record<WorldAttribute, string[]> {
  const v = worldVocabulary();
  return { class: [...v.classes], colour: [...v.colours], pattern: [...v.patterns], background: [...v.backgrounds] };
}

/** The default (detex-mini) configuration: 0.29M parameters, 64 → 32 → 16 → 8 px. */
export function attributeClassifierConfig(o: Partial<Pick<AttributeClassifierConfig, 'image_size' | 'stem_channels' | 'stem_stride' | 'stage_channels' | 'norm_groups' | 'pooling'>> = {}): AttributeClassifierConfig {
  return {
    _class_name: ATTRIBUTE_CLASSIFIER_CLASS,
    image_size: o.image_size ?? 64,
    stem_channels: o.stem_channels ?? 32,
    stem_stride: o.stem_stride ?? 2,
    stage_channels: o.stage_channels ?? [64, 128],
    norm_groups: o.norm_groups ?? 8,
    norm_eps: 1e-5,
    pooling: o.pooling ?? 'mean_max',
    labels: worldAttributeLabels(),
  };
}

/** The true labels of a rendered scene's attributes. */
export function sceneAttributeLabels(a: { class: string; colour: string; pattern: string; background: string }): Record<WorldAttribute, string> {
  return { class: a.class, colour: a.colour, pattern: a.pattern, background: a.background };
}

export interface AttributeGuess {
  label: string;
  /** softmax probability of `label` */
  prob: number;
  /** every label's probability, in the config's label order */
  probs: Float32Array;
}

export type AttributePrediction = Record<WorldAttribute, AttributeGuess>;

class ConvNormAct {
  readonly conv: Conv2d;
  readonly norm: GroupNorm;
  constructor(store: ParamStore, prefix: string, cin: number, cout: number, stride: number, groups: number, eps: number) {
    this.conv = new Conv2d(store, `${prefix}.conv`, cin, cout, 3, { stride, padding: 1 });
    this.norm = new GroupNorm(store, `${prefix}.norm`, groups, cout, eps);
  }
  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.norm.applyThen(this.conv.apply(x), silu) as tf.Tensor4D);
  }
}

export class WorldAttributeClassifier {
  private readonly stem: ConvNormAct;
  private readonly stages: Array<{ down: ConvNormAct; block: ConvNormAct }>;
  private readonly heads: Record<WorldAttribute, Linear>;

  constructor(readonly store: ParamStore, readonly config: AttributeClassifierConfig) {
    checkConfig(config);
    const { norm_groups: g, norm_eps: eps } = config;
    this.stem = new ConvNormAct(store, 'stem', 3, config.stem_channels, config.stem_stride, g, eps);
    let c = config.stem_channels;
    this.stages = config.stage_channels.map((out, i) => {
      const s = { down: new ConvNormAct(store, `stages.${i}.down`, c, out, 2, g, eps), block: new ConvNormAct(store, `stages.${i}.block`, out, out, 1, g, eps) };
      c = out;
      return s;
    });
    this.heads = {} as Record<WorldAttribute, Linear>;
    const features = config.pooling === 'mean_max' ? 2 * c : c;
    for (const a of WORLD_ATTRIBUTES) this.heads[a] = new Linear(store, `heads.${a}`, features, config.labels[a].length);
  }

  /**
   * Loads `<dir>/config.json` + `<dir>/model.safetensors`. Fails with the path when the folder or a file is
   * missing, and when the stored labels are not the current world vocabulary's.
   */
  static load(dir: string): WorldAttributeClassifier {
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
      throw new Error(`attribute classifier: folder not found: ${dir} (train it with scripts/pretrain/classifier.ts)`);
    }
    const cfgFile = path.join(dir, 'config.json');
    const weights = path.join(dir, ATTRIBUTE_CLASSIFIER_WEIGHTS);
    for (const f of [cfgFile, weights]) if (!fs.existsSync(f)) throw new Error(`attribute classifier: ${f} is missing`);
    const config = JSON.parse(fs.readFileSync(cfgFile, 'utf8')) as AttributeClassifierConfig;
    const store = ParamStore.fromSafetensors(weights);
    try {
      const model = new WorldAttributeClassifier(store, config);
      const unused = store.unusedKeys();
      if (unused.length) throw new Error(`attribute classifier: ${weights} has unexpected weights: ${unused.slice(0, 5).join(', ')}`);
      return model;
    } catch (e) {
      store.dispose();
      throw e;
    }
  }

  get parameterCount(): number {
    return this.store.names().reduce((a, n) => a + this.store.tensor(n).size, 0);
  }

  /** Logits per attribute, [B, n_labels], for images [B, S, S, 3] in [−1, 1] (S = image_size). Caller owns them. */
  logits(x: tf.Tensor4D): Record<WorldAttribute, tf.Tensor2D> {
    const s = this.config.image_size;
    if (x.rank !== 4 || x.shape[1] !== s || x.shape[2] !== s || x.shape[3] !== 3) {
      throw new Error(`attribute classifier: expected images [B, ${s}, ${s}, 3], got [${x.shape}]`);
    }
    const out = tf.tidy(() => {
      let h = this.stem.apply(x);
      for (const st of this.stages) {
        h = st.down.apply(h);
        h = tf.add(h, st.block.apply(h));
      }
      const mean = tf.mean(h, [1, 2]) as tf.Tensor2D;
      const pooled = this.config.pooling === 'mean_max' ? (tf.concat([mean, tf.max(h, [1, 2])], 1) as tf.Tensor2D) : mean;
      return WORLD_ATTRIBUTES.map((a) => this.heads[a].apply(pooled));
    });
    return Object.fromEntries(WORLD_ATTRIBUTES.map((a, i) => [a, out[i]])) as Record<WorldAttribute, tf.Tensor2D>;
  }

  /**
   * Predictions for images given as uint8 [H, W, 3] host tensors (world renders, decoded samples) or as one
   * float tensor [B, H, W, 3] in [−1, 1] (not disposed). Other sizes are resized (bilinear) to image_size.
   * Runs in chunks of `chunk` images; leaves no tensors behind.
   */
  predict(images: readonly HostTensor[] | tf.Tensor4D, chunk = 64): AttributePrediction[] {
    const n = Array.isArray(images) ? images.length : (images as tf.Tensor4D).shape[0];
    const out: AttributePrediction[] = [];
    for (let i = 0; i < n; i += chunk) {
      const m = Math.min(chunk, n - i);
      const probs = tf.tidy(() => {
        let x = Array.isArray(images) ? hostBatch(images.slice(i, i + m)) : tf.slice(images as tf.Tensor4D, [i, 0, 0, 0], [m, -1, -1, -1]);
        const s = this.config.image_size;
        if (x.shape[1] !== s || x.shape[2] !== s) x = tf.image.resizeBilinear(x, [s, s], true);
        const l = this.logits(x);
        return WORLD_ATTRIBUTES.map((a) => tf.softmax(l[a]));
      });
      const data = probs.map((p) => p.dataSync() as Float32Array);
      tf.dispose(probs);
      for (let k = 0; k < m; k++) {
        const pred = {} as AttributePrediction;
        WORLD_ATTRIBUTES.forEach((a, ai) => {
          const labels = this.config.labels[a];
          const row = data[ai].slice(k * labels.length, (k + 1) * labels.length);
          let best = 0;
          for (let j = 1; j < row.length; j++) if (row[j] > row[best]) best = j;
          pred[a] = { label: labels[best], prob: row[best], probs: row };
        });
        out.push(pred);
      }
    }
    return out;
  }

  dispose(): void {
    this.store.dispose();
  }
}

/** uint8 [H, W, 3] images of one size → float [B, H, W, 3] in [−1, 1]. */
function hostBatch(images: readonly HostTensor[]): tf.Tensor4D {
  const [h, w, c] = images[0].shape;
  const px = h * w * c;
  const data = new Float32Array(images.length * px);
  images.forEach((im, i) => {
    if (im.dtype !== 'uint8' || im.shape.length !== 3 || im.shape[0] !== h || im.shape[1] !== w || im.shape[2] !== 3) {
      throw new Error(`attribute classifier: image ${i} is ${im.dtype} [${im.shape}], expected uint8 [${h}, ${w}, 3] like image 0`);
    }
    for (let j = 0; j < px; j++) data[i * px + j] = im.data[j] / 127.5 - 1;
  });
  return tf.tensor4d(data, [images.length, h, w, c]);
}

function checkConfig(c: AttributeClassifierConfig): void {
  if (c._class_name !== ATTRIBUTE_CLASSIFIER_CLASS) throw new Error(`attribute classifier: config is for ${String(c._class_name)}, not ${ATTRIBUTE_CLASSIFIER_CLASS}`);
  if (c.pooling !== 'mean' && c.pooling !== 'mean_max') throw new Error(`attribute classifier: pooling "${String(c.pooling)}" is not mean or mean_max`);
  const want = worldAttributeLabels();
  for (const a of WORLD_ATTRIBUTES) {
    const got = c.labels?.[a];
    if (!Array.isArray(got) || got.join(',') !== want[a].join(',')) {
      throw new Error(`attribute classifier: its ${a} labels [${got}] are not the world's [${want[a]}]; retrain it (scripts/pretrain/classifier.ts)`);
    }
  }
}

/**
 * For one attribute, how often each true label was read as each label: asked → read → count, every label of
 * `labels` present in both levels (zeros included), in that order. Tells "draws the wrong pattern" from
 * "draws none", which an accuracy cannot.
 */
export function attributeConfusion(
  preds: readonly AttributePrediction[],
  truth: ReadonlyArray<Record<WorldAttribute, string>>,
  attribute: WorldAttribute,
  labels: readonly string[],
): Record<string, Record<string, number>> {
  if (preds.length !== truth.length) throw new Error(`attributeConfusion: ${preds.length} predictions for ${truth.length} truths`);
  const out: Record<string, Record<string, number>> = {};
  for (const a of labels) out[a] = Object.fromEntries(labels.map((r) => [r, 0]));
  preds.forEach((p, i) => {
    const asked = truth[i][attribute];
    const read = p[attribute].label;
    if (!(asked in out) || !(read in out)) throw new Error(`attributeConfusion: ${attribute} "${asked}" read as "${read}", not both in ${labels.join(', ')}`);
    out[asked][read]++;
  });
  return out;
}

/** Accuracy per attribute of predictions against true labels. */
export function attributeAccuracy(preds: readonly AttributePrediction[], truth: ReadonlyArray<Record<WorldAttribute, string>>): Record<WorldAttribute, number> {
  if (preds.length !== truth.length || preds.length === 0) throw new Error(`attributeAccuracy: ${preds.length} predictions for ${truth.length} truths`);
  const acc = {} as Record<WorldAttribute, number>;
  for (const a of WORLD_ATTRIBUTES) acc[a] = preds.filter((p, i) => p[a].label === truth[i][a]).length / preds.length;
  return acc;
}
