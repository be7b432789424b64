/**
 * The DETEX trainer (paper §3, Fig. 2). Per step, for each of `batchSize` instance items:
 *   1. pick image i (seeded epoch permutations), with probability γ its background-filtered version and
 *      prompt (joint training), optionally a horizontal flip;
 *   2. z0 ~ q(z|x_i)·scaling_factor (VAE frozen: its distributions are computed once), t ~ U{0..T−1}, ε ~ N(0, I);
 *   3. text: "photo of a [V] {class} with [P_i] {attr} in [B_i] background", with [V] = v (trained row),
 *      [P_i] = M^P(E_I(x_i)), [B_i] = M^B(E_I(x_i)) substituted at their positions (x_i flipped too for a
 *      flipped item, so the attribute words describe the image the step reconstructs);
 *   4. UNet (K/V of every attn2 trainable), capturing the attn2 maps at latent/caDownscale;
 *   5. L = L_LDM + λ_pr·L_pr + λ_CA·L_CA (losses.ts), with as many class images and the class prompt for L_pr.
 * AdamW on the trainables only. Randomness is drawn per (step, item) from streams forked off the seed, so a
 * run resumed from a checkpoint at step s replays steps s+1… exactly, and micro-batching changes nothing
 * but memory.
 */
import * as tf from '@tensorflow/tfjs-core';
import { AutoencoderKL } from '../models/vae';
import { UNet2DConditionModel } from '../models/unet';
import { atDownscale } from '../models/unet/attention-capture';
import { CLIPTokenizer } from '../models/clip/tokenizer';
import { DDIMScheduler } from '../schedulers/ddim';
import { makeTrainingNoise } from '../schedulers/training-noise';
import { Rng } from '../random';
import { DrawContext, ItemDraw, itemDraw, stepDraws } from './draws';
import { HostTensor, fromTfSync } from '../io/host-tensor';
import { AdamW } from './adamw';
import { DetexConfig, effectiveLearningRates } from './config';
import { TrainingData, TrainingItem, flipHorizontal, prepareTrainingData } from './data';
import { averageLayerMaps, attentionLoss, diffusionLoss, tokenMap, totalLoss } from './losses';
import { AttributeMapper, initMapperWeights } from './mappers';
import { InitWordChoice, chooseInitWord } from './init-word';
import { ConceptTokens, addConceptTokens, classPrompt, conceptTokenStrings, positionsOf, trainingPrompt, wordEmbedding } from './tokens';
import { DetexImageEncoder, DetexTextEncoder, EmbeddingSubstitution } from './types';

export interface DetexModels {
  unet: UNet2DConditionModel;
  vae: AutoencoderKL;
  scheduler: DDIMScheduler;
  tokenizer: CLIPTokenizer;
  textEncoder: DetexTextEncoder;
  /** needed when config.attributes is 'mappers' */
  imageEncoder?: DetexImageEncoder;
}

export interface TrainerInputs {
  config: DetexConfig;
  items: readonly TrainingItem[];
  /** class images NHWC [M, R, R, 3] in [0, 1] (class-images.ts); needed when λ_pr > 0 */
  classImages?: tf.Tensor4D;
  warn?: (msg: string) => void;
}

export interface StepLosses {
  total: number;
  ldm: number;
  pr: number;
  ca: number;
}

export interface TrainProgress extends StepLosses {
  step: number;
  totalSteps: number;
  elapsedMs: number;
  etaMs: number;
}

export const KV_PATTERN = /attn2\.to_(k|v)\.weight$/;
const V_NAME = 'token.subject';
const FREE_P = 'free.pose';
const FREE_B = 'free.background';
/** trained variables that are text-embedding rows (config.embeddingLearningRate) */
const EMBEDDING_ROWS = new Set([V_NAME, FREE_P, FREE_B]);
/** tfjs variable names are global: each trainer gets its own suffix */
let trainerCount = 0;

/** Everything an item of one step needs, decided from the seeded streams (draws.ts). */
type ItemPlan = ItemDraw;

export class DetexTrainer {
  readonly tokens: ConceptTokens;
  readonly resolution: number;
  readonly latentSize: [number, number];
  readonly caLayers: string[];
  readonly caSize: [number, number];
  /** trained variables by name (optimizer state exists for exactly these) */
  readonly variables = new Map<string, tf.Variable>();
  private readonly optimizer: AdamW;
  private readonly data: TrainingData;
  /** q(z|x) moments per variant: key `${filtered}${flip}` → mean/std [N, h, w, c] */
  private readonly latents = new Map<string, { mean: tf.Tensor4D; std: tf.Tensor4D }>();
  private readonly prior?: { mean: tf.Tensor4D; std: tf.Tensor4D };
  private readonly imageEmbeds?: tf.Tensor2D;
  /** E_I of the flipped images (with flips): a flipped item's [P_i]/[B_i] describe the image it is trained on */
  private readonly imageEmbedsFlipped?: tf.Tensor2D;
  readonly mapperP?: AttributeMapper;
  readonly mapperB?: AttributeMapper;
  /** base K/V values, restored on dispose so a shared UNet is left as it was */
  private readonly baseKV = new Map<string, tf.Tensor>();
  private readonly root: Rng;
  private stepsDone = 0;
  private disposed = false;
  /** how [V]'s initialiser was picked from config.initCandidates (undefined: config.initWord was used) */
  readonly initWordChoice?: InitWordChoice;
  private readonly uid = `detex${++trainerCount}`;

  constructor(readonly models: DetexModels, readonly inputs: TrainerInputs) {
    const cfg = inputs.config;
    const { unet, vae, tokenizer, textEncoder } = models;
    const warn = inputs.warn ?? ((m: string) => console.warn(m));
    this.root = new Rng(cfg.seed);
    const cross = unet.config.raw.cross_attention_dim;
    const crossDim = Array.isArray(cross) ? cross[0] : cross;
    if (crossDim !== textEncoder.hiddenSize) {
      throw new Error(`DETEX trainer: the text encoder's width ${textEncoder.hiddenSize} ≠ the UNet's cross_attention_dim ${crossDim}`);
    }
    if (cfg.attributes === 'mappers' && !models.imageEncoder) throw new Error('DETEX trainer: attributes "mappers" needs a CLIP image encoder');
    if (cfg.lambdaPr > 0 && !inputs.classImages) throw new Error('DETEX trainer: λ_pr > 0 needs class images (class-images.ts), or set lambdaPr to 0');

    // 1. sizes: the model's resolution and the CA layers at latent/caDownscale
    this.resolution = cfg.resolution || (unet.config.raw.sample_size as number) * vae.scaleFactor;
    const f = vae.scaleFactor;
    if (this.resolution % f !== 0) throw new Error(`DETEX trainer: resolution ${this.resolution} is not a multiple of the VAE factor ${f}`);
    this.latentSize = [this.resolution / f, this.resolution / f];
    const layers = unet.crossAttentionLayers(...this.latentSize);
    const ca = layers.filter(atDownscale(cfg.caDownscale));
    if (cfg.lambdaCA > 0 && ca.length === 0) {
      const have = [...new Set(layers.map((l) => l.downscale))].join(', ');
      throw new Error(`DETEX trainer: the UNet has no cross-attention layers at latent/${cfg.caDownscale} (it has latent/{${have}}); set caDownscale`);
    }
    this.caLayers = ca.map((l) => l.path);
    this.caSize = ca.length ? [ca[0].h, ca[0].w] : [1, 1];

    // 2. tokens and data
    this.tokens = conceptTokenStrings(cfg.subjectToken, inputs.items.length, cfg.attributes !== 'none');
    this.data = prepareTrainingData(inputs.items, { resolution: this.resolution, latentSize: this.latentSize, caSize: this.caSize, blank: cfg.blank, warn });
    addConceptTokens(tokenizer, this.tokens);
    try {
      // 3. frozen encodings, once
      for (const filtered of [false, true]) {
        if (filtered && cfg.gamma === 0) continue;
        for (const flip of [false, true]) {
          if (flip && !cfg.flip) continue;
          const src = filtered ? this.data.filtered : this.data.images;
          this.latents.set(`${filtered}${flip}`, this.encodeImages(flip ? flipHorizontal(src) : src, flip));
        }
      }
      if (inputs.classImages && cfg.lambdaPr > 0) this.prior = this.encodeImages(inputs.classImages, false);
      if (cfg.attributes === 'mappers') {
        this.imageEmbeds = tf.keep(models.imageEncoder!.embed(this.data.images));
        if (cfg.flip) this.imageEmbedsFlipped = tf.tidy(() => models.imageEncoder!.embed(flipHorizontal(this.data.images)));
      }

      // 4. trainables: [V] (from initWord, or the candidate the photos pick), the mappers (or free vectors), every attn2 to_k / to_v
      this.initWordChoice = cfg.initCandidates.length ? this.chooseInitWord() : undefined;
      const vInit = wordEmbedding(tokenizer, textEncoder, this.initWordChoice?.word ?? cfg.initWord);
      this.variables.set(V_NAME, tf.variable(vInit, true, `${this.uid}/${V_NAME}`));
      vInit.dispose();
      const C = textEncoder.hiddenSize;
      if (cfg.attributes === 'mappers') {
        const dims = { inDim: models.imageEncoder!.embedDim, hidden: cfg.mapperHidden || C, outDim: C };
        const outputNorm = cfg.mapperOutput === 'word' ? tf.tidy(() => tf.norm(this.variables.get(V_NAME)!).dataSync()[0]) : undefined;
        this.mapperP = new AttributeMapper(dims, initMapperWeights(dims, this.root.fork('mapper_p')), cfg.mapperActivation, outputNorm);
        this.mapperB = new AttributeMapper(dims, initMapperWeights(dims, this.root.fork('mapper_b')), cfg.mapperActivation, outputNorm);
        for (const [prefix, m] of [['mapper_p', this.mapperP], ['mapper_b', this.mapperB]] as const) {
          for (const [n, v] of m.store.makeTrainable(() => true)) this.variables.set(`${prefix}.${n}`, v);
        }
      } else if (cfg.attributes === 'free') {
        // w/o mappers: per-image vectors, initialised from the attribute word and "background"
        for (const [name, word] of [[FREE_P, cfg.attributeWord], [FREE_B, 'background']] as const) {
          const row = wordEmbedding(tokenizer, textEncoder, word);
          this.variables.set(name, tf.variable(tf.tidy(() => tf.tile(tf.reshape(row, [1, C]), [this.data.n, 1])), true, `${this.uid}/${name}`));
          row.dispose();
        }
      }
      for (const name of unet.store.names().filter((n) => KV_PATTERN.test(n))) this.baseKV.set(name, unet.store.tensor(name).clone());
      if (this.baseKV.size === 0) throw new Error('DETEX trainer: the UNet has no attn2.to_k / attn2.to_v weights');
      for (const [n, v] of unet.store.makeTrainable((n) => KV_PATTERN.test(n))) this.variables.set(`unet.${n}`, v);
      this.optimizer = new AdamW(this.variables, cfg.adam);
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  get step(): number {
    return this.stepsDone;
  }

  get numImages(): number {
    return this.data.n;
  }

  /** VAE moments of images in [0, 1], kept. */
  private encodeImages(images: tf.Tensor4D, disposeInput: boolean): { mean: tf.Tensor4D; std: tf.Tensor4D } {
    const r = vaeMoments(this.models.vae, images);
    if (disposeInput) images.dispose();
    return r;
  }

  /** Scores config.initCandidates on the photos' clean latents, inside the subject masks, with the base UNet (init-word.ts). */
  private chooseInitWord(): InitWordChoice {
    const cfg = this.inputs.config;
    const z0 = tf.tidy(() => tf.mul(this.latents.get('falsefalse')!.mean, this.models.vae.scalingFactor) as tf.Tensor4D);
    try {
      return chooseInitWord(this.models, z0, cfg.initCandidates, cfg.classWord, cfg.seed, this.data.masksLatent);
    } finally {
      z0.dispose();
    }
  }

  /** What the draws of a step depend on (draws.ts). */
  get drawContext(): DrawContext {
    const cfg = this.inputs.config;
    const [h, w] = this.latentSize;
    return {
      seed: cfg.seed, batchSize: cfg.batchSize, gamma: cfg.gamma, flip: cfg.flip, numImages: this.data.n,
      numPrior: this.prior ? this.prior.mean.shape[0] : 0,
      latentShape: [h, w, this.models.vae.config.latent_channels], numTrainTimesteps: this.models.scheduler.config.num_train_timesteps,
    };
  }

  /** The draws step `s` (1-based) uses: items, then the class-image items (a pure function of seed and s). */
  stepDraws(s: number): { items: ItemPlan[]; prior: ItemPlan[] } {
    return stepDraws(this.drawContext, s);
  }

  /** Which image, variant and noise each item of step `s` (1-based) uses. Depends only on (seed, s, item). */
  private plan(s: number, item: number, prior: boolean): ItemPlan {
    return itemDraw(this.drawContext, s, item, prior, this.root);
  }

  /** Embedding substitutions for a batch of token rows; instance rows come first and follow `plans`. */
  private substitutions(ids: number[][], plans: ItemPlan[]): EmbeddingSubstitution[] {
    const tk = this.models.tokenizer;
    const v = this.variables.get(V_NAME)!;
    const subs: EmbeddingSubstitution[] = [];
    const attrs = this.attributeVectors();
    const attrsFlipped = plans.some((p) => p.flip) ? this.attributeVectors(true) : undefined;
    plans.forEach((p, b) => {
      for (const pos of positionsOf(ids[b], tk.tokenToId(this.tokens.subject))) subs.push({ batch: b, position: pos, vector: v as tf.Tensor1D });
      const a = p.flip ? attrsFlipped : attrs;
      if (!a) return;
      for (const [list, table] of [[this.tokens.pose, a.pose], [this.tokens.background, a.background]] as const) {
        for (const pos of positionsOf(ids[b], tk.tokenToId(list[p.image]))) subs.push({ batch: b, position: pos, vector: row(table, p.image) });
      }
    });
    return subs;
  }

  /**
   * [N, C] tables of [P_i] and [B_i] embeddings (mapper outputs or free vectors), inside the gradient scope;
   * `flipped`: the mappers' outputs for the flipped images.
   */
  private attributeVectors(flipped = false): { pose: tf.Tensor2D; background: tf.Tensor2D } | undefined {
    const cfg = this.inputs.config;
    if (cfg.attributes === 'mappers') {
      const e = flipped ? this.imageEmbedsFlipped! : this.imageEmbeds!;
      return { pose: this.mapperP!.apply(e), background: this.mapperB!.apply(e) };
    }
    if (cfg.attributes === 'free') return { pose: this.variables.get(FREE_P)! as tf.Tensor2D, background: this.variables.get(FREE_B)! as tf.Tensor2D };
    return undefined;
  }

  /** The per-image [P_i]/[B_i] embeddings as host data (for the concept file). */
  attributeEmbeddings(): { pose: Float32Array[]; background: Float32Array[] } {
    const t = tf.tidy(() => this.attributeVectors());
    if (!t) return { pose: [], background: [] };
    const C = this.models.textEncoder.hiddenSize;
    const split = (x: tf.Tensor2D) => {
      const d = x.dataSync() as Float32Array;
      return Array.from({ length: this.data.n }, (_, i) => d.slice(i * C, (i + 1) * C));
    };
    const out = { pose: split(t.pose), background: split(t.background) };
    if (this.inputs.config.attributes === 'mappers') tf.dispose([t.pose, t.background]);
    return out;
  }

  /** Loss of one micro-batch (partial means: the micro-batches of a step sum to the step's loss, eq. 5). */
  private microLoss(s: number, items: number[], record: tf.Scalar[]): tf.Scalar {
    const cfg = this.inputs.config;
    const { unet, tokenizer, textEncoder, scheduler } = this.models;
    const sf = this.models.vae.scalingFactor;
    const plans = items.map((j) => this.plan(s, j, false));
    const priorPlans = this.prior ? items.map((j) => this.plan(s, j, true)) : [];
    const B = cfg.batchSize;
    const [h, w] = this.latentSize;
    const c = this.models.vae.config.latent_channels;

    // 1. latents z0 = (μ + σ·n)·scaling_factor, then x_t and ε
    const pick = (src: { mean: tf.Tensor4D; std: tf.Tensor4D }, p: ItemPlan) =>
      tf.mul(tf.add(tf.slice(src.mean, [p.image, 0, 0, 0], [1, -1, -1, -1]), tf.mul(tf.slice(src.std, [p.image, 0, 0, 0], [1, -1, -1, -1]), tf.tensor4d(p.zNoise, [1, h, w, c]))), sf);
    const z0 = tf.concat([
      ...plans.map((p) => pick(this.latents.get(`${p.filtered}${p.flip}`)!, p)),
      ...priorPlans.map((p) => pick(this.prior!, p)),
    ]) as tf.Tensor4D;
    const all = [...plans, ...priorPlans];
    const noise = tf.concat(all.map((p) => tf.tensor4d(p.noise, [1, h, w, c])));
    const tn = makeTrainingNoise(scheduler, z0, this.root, { timesteps: all.map((p) => p.t), noise });

    // 2. prompts and embedding substitutions
    const prompts = [
      ...plans.map((p) => trainingPrompt(cfg, this.tokens, p.image, p.filtered)),
      ...priorPlans.map(() => classPrompt(cfg)),
    ];
    const ids = tokenizer.call(prompts).inputIds;
    const ehs = textEncoder.encode(ids, this.substitutions(ids, plans));

    // 3. UNet, with the maps at the CA resolution when L_CA is on
    const wantCA = cfg.lambdaCA > 0 && cfg.attributes !== 'none';
    const out = wantCA
      ? unet.forwardWithAttention(tn.noisyLatents as tf.Tensor4D, tn.timesteps, ehs, { captureAttention: { layers: this.caLayers } })
      : { sample: unet.forward(tn.noisyLatents as tf.Tensor4D, tn.timesteps, ehs), attentionMaps: {} };
    const m = plans.length;
    const pred = out.sample;
    const target = tn.target as tf.Tensor4D;
    const inst = (x: tf.Tensor4D) => tf.slice(x, [0, 0, 0, 0], [m, -1, -1, -1]) as tf.Tensor4D;
    const pri = (x: tf.Tensor4D) => tf.slice(x, [m, 0, 0, 0], [-1, -1, -1, -1]) as tf.Tensor4D;

    // 4. L_LDM (eq. 1), optionally inside the mask only
    const masks = (src: tf.Tensor, rank3: boolean) =>
      tf.concat(plans.map((p) => {
        const one = tf.slice(src, rank3 ? [p.image, 0, 0] : [p.image, 0, 0, 0], rank3 ? [1, -1, -1] : [1, -1, -1, -1]);
        return p.flip ? tf.reverse(one, 2) : one;
      }));
    const ldmMask = cfg.maskedDiffusionLoss ? (masks(this.data.masksLatent, false) as tf.Tensor4D) : undefined;
    const ldm = tf.div(tf.sum(diffusionLoss(inst(pred), inst(target), ldmMask)), B) as tf.Scalar;
    // 5. L_pr (eq. 2)
    const pr = priorPlans.length ? (tf.div(tf.sum(diffusionLoss(pri(pred), pri(target))), B) as tf.Scalar) : undefined;
    // 6. L_CA (eq. 4), averaged over heads (in the UNet) and over the layers at that resolution
    let ca: tf.Scalar | undefined;
    if (wantCA) {
      const avg = averageLayerMaps(this.caLayers.map((l) => out.attentionMaps[l]));
      const posOf = (tok: string, b: number) => positionsOf(ids[b], tokenizer.tokenToId(tok))[0];
      const pMaps = tf.stack(plans.map((p, b) => tokenMap(avg, b, posOf(this.tokens.pose[p.image], b)))) as tf.Tensor3D;
      // a filtered prompt has no [B_i]: any column will do, its weight is 0
      const bMaps = tf.stack(plans.map((p, b) => (p.filtered ? tf.zerosLike(tokenMap(avg, b, 0)) : tokenMap(avg, b, posOf(this.tokens.background[p.image], b))))) as tf.Tensor3D;
      const target3 = masks(this.data.masksCA, true) as tf.Tensor3D;
      ca = tf.div(tf.sum(attentionLoss(pMaps, bMaps, target3, plans.map((p) => (p.filtered ? 0 : 1)), cfg.caNorm)), B) as tf.Scalar;
    }
    // 7. L, eq. 5
    const total = totalLoss(ldm, pr, ca, cfg.lambdaPr, cfg.lambdaCA);
    record.push(tf.keep(total.clone()), tf.keep(ldm.clone()), tf.keep((pr ?? tf.scalar(0)).clone()), tf.keep((ca ?? tf.scalar(0)).clone()));
    return total;
  }

  /** One optimisation step (all micro-batches, then AdamW). Returns the step's loss terms. */
  trainStep(signal?: AbortSignal): StepLosses {
    if (this.disposed) throw new Error('DetexTrainer: used after dispose()');
    const cfg = this.inputs.config;
    const s = this.stepsDone + 1;
    const vars = [...this.variables.values()];
    const names = [...this.variables.keys()];
    const acc = new Map<string, tf.Tensor>();
    const sums = { total: 0, ldm: 0, pr: 0, ca: 0 };
    try {
      for (let start = 0; start < cfg.batchSize; start += cfg.microBatch) {
        if (signal?.aborted) throw abortError();
        const items = Array.from({ length: cfg.microBatch }, (_, k) => start + k);
        const record: tf.Scalar[] = [];
        const { value, grads } = tf.variableGrads(() => this.microLoss(s, items, record), vars);
        value.dispose();
        const vals = record.map((r) => r.dataSync()[0]);
        tf.dispose(record);
        sums.total += vals[0];
        sums.ldm += vals[1];
        sums.pr += vals[2];
        sums.ca += vals[3];
        vars.forEach((v, i) => {
          const g = grads[v.name];
          if (!g) return;
          const prev = acc.get(names[i]);
          acc.set(names[i], prev ? tf.tidy(() => tf.add(prev, g)) : g);
          if (prev) {
            prev.dispose();
            g.dispose();
          }
        });
      }
      const lr = effectiveLearningRates(cfg);
      this.optimizer.apply(acc, (name) => (EMBEDDING_ROWS.has(name) ? lr.embedding : name.startsWith('mapper_') ? lr.mapper : lr.kv));
      this.stepsDone = s;
    } finally {
      for (const g of acc.values()) g.dispose();
    }
    return sums;
  }

  /** The loss of step `s`'s draws at the current parameters, without updating anything (monitoring, tests). */
  evaluate(s: number): StepLosses {
    const cfg = this.inputs.config;
    const sums = { total: 0, ldm: 0, pr: 0, ca: 0 };
    for (let start = 0; start < cfg.batchSize; start += cfg.microBatch) {
      const items = Array.from({ length: cfg.microBatch }, (_, k) => start + k);
      const record: tf.Scalar[] = [];
      tf.tidy(() => this.microLoss(s, items, record));
      const vals = record.map((r) => r.dataSync()[0]);
      tf.dispose(record);
      sums.total += vals[0];
      sums.ldm += vals[1];
      sums.pr += vals[2];
      sums.ca += vals[3];
    }
    return sums;
  }

  /** Runs to `config.steps`, yielding to the event loop between steps. */
  async run(opts: RunOptions = {}): Promise<RunResult> {
    const cfg = this.inputs.config;
    const t0 = Date.now();
    const first = this.stepsDone;
    let last: StepLosses | undefined;
    while (this.stepsDone < cfg.steps) {
      await new Promise<void>((r) => setImmediate(r));
      if (opts.signal?.aborted) return { cancelled: true, step: this.stepsDone, last };
      try {
        last = this.trainStep(opts.signal);
      } catch (e) {
        if ((e as Error).name === 'AbortError') return { cancelled: true, step: this.stepsDone, last };
        throw e;
      }
      const elapsedMs = Date.now() - t0;
      const done = this.stepsDone - first;
      opts.onProgress?.({ ...last, step: this.stepsDone, totalSteps: cfg.steps, elapsedMs, etaMs: (elapsedMs / done) * (cfg.steps - this.stepsDone) });
      if (opts.onCheckpoint && cfg.checkpointEvery > 0 && (this.stepsDone % cfg.checkpointEvery === 0 || this.stepsDone === cfg.steps)) {
        await opts.onCheckpoint(this.stepsDone);
      }
      if (opts.onPreview && cfg.previewEvery > 0 && this.stepsDone % cfg.previewEvery === 0) await opts.onPreview(this.stepsDone);
    }
    return { cancelled: false, step: this.stepsDone, last };
  }

  /** Current values of the trainables as host data (tfjs layout), and the optimizer moments. */
  snapshot(): { step: number; values: Map<string, HostTensor>; m: Map<string, HostTensor>; v: Map<string, HostTensor> } {
    const st = this.optimizer.getState();
    const host = (mp: Map<string, tf.Tensor>) => new Map([...mp].map(([k, t]) => [k, fromTfSync(t)]));
    try {
      return { step: this.stepsDone, values: host(this.variables as Map<string, tf.Tensor>), m: host(st.m), v: host(st.v) };
    } finally {
      tf.dispose([...st.m.values(), ...st.v.values()]);
    }
  }

  /** Restores a snapshot (checkpoint.ts): values, moments and the step counter. */
  restore(snap: { step: number; values: Map<string, HostTensor>; m: Map<string, HostTensor>; v: Map<string, HostTensor> }): void {
    for (const [name, v] of this.variables) {
      const h = snap.values.get(name);
      if (!h) throw new Error(`DetexTrainer.restore: the checkpoint has no value for "${name}"`);
      if (!tf.util.arraysEqual(h.shape, v.shape)) throw new Error(`DetexTrainer.restore: "${name}" is [${h.shape}] in the checkpoint, [${v.shape}] here`);
      const t = tf.tensor(h.data as Float32Array, h.shape, 'float32');
      v.assign(t);
      t.dispose();
    }
    const toTfMap = (mp: Map<string, HostTensor>) => new Map([...mp].map(([k, h]) => [k, tf.tensor(h.data as Float32Array, h.shape, 'float32')]));
    this.optimizer.setState({ step: snap.step, m: toTfMap(snap.m), v: toTfMap(snap.v) });
    this.stepsDone = snap.step;
  }

  /** The subject embedding v. */
  subjectEmbedding(): Float32Array {
    return this.variables.get(V_NAME)!.dataSync() as Float32Array;
  }

  /** Base K/V weights (tfjs layout) as they were before training. */
  baseWeights(): ReadonlyMap<string, tf.Tensor> {
    return this.baseKV;
  }

  /** Frees everything the trainer made and puts the UNet's base K/V back (the models stay usable). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.data?.dispose();
    for (const l of this.latents.values()) tf.dispose([l.mean, l.std]);
    if (this.prior) tf.dispose([this.prior.mean, this.prior.std]);
    this.imageEmbeds?.dispose();
    this.imageEmbedsFlipped?.dispose();
    this.optimizer?.dispose();
    this.mapperP?.dispose();
    this.mapperB?.dispose();
    for (const [name, base] of this.baseKV) this.models.unet.store.set(name, base);
    this.baseKV.clear();
    for (const [name, v] of this.variables) if (!name.startsWith('unet.') && !name.startsWith('mapper_')) v.dispose();
    this.variables.clear();
  }
}

export interface RunOptions {
  signal?: AbortSignal;
  onProgress?: (p: TrainProgress) => void;
  onCheckpoint?: (step: number) => void | Promise<void>;
  onPreview?: (step: number) => void | Promise<void>;
}

export interface RunResult {
  cancelled: boolean;
  step: number;
  last?: StepLosses;
}

/** Images per VAE pass when encoding training and class images (200 class images at 512² in one pass would not fit). */
export const ENCODE_CHUNK = 4;

/** q(z|x) of images NHWC in [0, 1] (to [−1, 1] first), `chunk` images per VAE pass → mean and std (caller owns). */
export function vaeMoments(vae: AutoencoderKL, images: tf.Tensor4D, chunk = ENCODE_CHUNK): { mean: tf.Tensor4D; std: tf.Tensor4D } {
  const means: tf.Tensor4D[] = [];
  const stds: tf.Tensor4D[] = [];
  try {
    for (let i = 0; i < images.shape[0]; i += chunk) {
      const part = tf.tidy(() => tf.sub(tf.mul(tf.slice(images, [i, 0, 0, 0], [Math.min(chunk, images.shape[0] - i), -1, -1, -1]), 2), 1) as tf.Tensor4D);
      const dist = vae.encode(part);
      part.dispose();
      means.push(dist.mean);
      stds.push(tf.tidy(() => tf.exp(tf.mul(dist.logvar, 0.5)) as tf.Tensor4D));
      dist.logvar.dispose();
    }
    if (means.length === 1) return { mean: means.pop()!, std: stds.pop()! };
    return { mean: tf.concat(means) as tf.Tensor4D, std: tf.concat(stds) as tf.Tensor4D };
  } finally {
    tf.dispose([...means, ...stds]);
  }
}

function row(table: tf.Tensor2D, i: number): tf.Tensor1D {
  return tf.reshape(tf.slice(table, [i, 0], [1, -1]), [-1]) as tf.Tensor1D;
}

function abortError(): Error {
  const e = new Error('DETEX training cancelled');
  e.name = 'AbortError';
  return e;
}
