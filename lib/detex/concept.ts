/**
 * The concept file: what one DETEX training produces, as safetensors with a `__metadata__` entry `detex`
 * (JSON). Tensors (PyTorch layouts):
 *   subject                          [C]        v, the [V] embedding
 *   pose / background                [N, C]     each training image's [P_i] / [B_i] embedding (mapper outputs,
 *                                               so inference needs no CLIP image encoder)
 *   unet.<…>.attn2.to_{k,v}.weight   (out, in)  the trained K/V projections, or their deltas vs the base
 *   mapper_p.layers.{0,2,4}.{weight,bias}, mapper_b.…   both attribute mappers (absent without mappers)
 * Metadata: token strings, class and attribute words, hyper-parameters, and the base-model identity (a hash of
 * the base UNet K/V weights and the text encoder config) — a concept is refused on another base model.
 */
import * as crypto from 'crypto';
import * as tf from '@tensorflow/tfjs-core';
import { HostTensor, hostTensor, fromTfSync } from '../io/host-tensor';
import { readSafetensors, writeSafetensors } from '../io/safetensors';
import { CLIPTokenizer } from '../models/clip/tokenizer';
import { UNet2DConditionModel } from '../models/unet';
import { ConceptVocabulary } from './composer';
import { DetexConfig, KVStorage } from './config';
import { ConceptTokens, addConceptTokens } from './tokens';
import { DetexTrainer, KV_PATTERN } from './trainer';
import { DetexTextEncoder } from './types';

export const CONCEPT_FORMAT = 'detex-concept';
export const CONCEPT_VERSION = 1;

export interface ConceptMeta {
  format: typeof CONCEPT_FORMAT;
  version: number;
  tokens: ConceptTokens;
  classWord: string;
  attributeWord: string;
  numImages: number;
  kvStorage: KVStorage;
  /** sha256 of the base model's K/V weights and text-encoder config */
  baseModel: string;
  mapperActivation?: string;
  /** the L2 norm every mapper output is rescaled to (config.mapperOutput 'word'); absent: the plain MLP */
  mapperOutputNorm?: number;
  config: DetexConfig;
  steps: number;
  /** the word [V] was initialised from: config.initWord, or the one chosen from config.initCandidates */
  initWord?: string;
}

export interface DetexConcept {
  meta: ConceptMeta;
  subject: Float32Array;
  pose: Float32Array[];
  background: Float32Array[];
  /** UNet parameter name → trained weight (or delta), PyTorch layout */
  kv: Map<string, HostTensor>;
  /** `mapper_p.layers.0.weight` … ; empty without mappers */
  mappers: Map<string, HostTensor>;
}

/**
 * Identity of a base model: sha256 over every attn2 to_k/to_v weight (name, shape, bytes, sorted by name) and
 * the text encoder's config. The K/V weights are what a concept replaces, so they are what must match; hashing
 * ~20M floats of SD v1 takes well under a second. `kvOverride` gives the base values when the UNet currently
 * holds trained ones (tfjs layout, as the trainer keeps them).
 */
export function baseModelIdentity(unet: UNet2DConditionModel, text: DetexTextEncoder, kvOverride?: ReadonlyMap<string, tf.Tensor>): string {
  const h = crypto.createHash('sha256');
  const names = unet.store.names().filter((n) => KV_PATTERN.test(n)).sort();
  for (const n of names) {
    const t = kvOverride?.get(n) ?? unet.store.tensor(n);
    h.update(`${n}:${t.shape.join('x')}:`);
    const d = t.dataSync() as Float32Array;
    h.update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
  const cfg = text.identityConfig;
  h.update(JSON.stringify(cfg, Object.keys(cfg).sort()));
  return h.digest('hex');
}

/** The concept a trainer has reached (any step). */
export function conceptFromTrainer(trainer: DetexTrainer): DetexConcept {
  const cfg = trainer.inputs.config;
  const { unet, textEncoder } = trainer.models;
  const base = trainer.baseWeights();
  const attrs = trainer.attributeEmbeddings();
  const kv = new Map<string, HostTensor>();
  for (const n of unet.store.names().filter((x) => KV_PATTERN.test(x))) {
    const trained = unet.store.toHost(n);
    if (cfg.kvStorage === 'delta') {
      const b = tf.tidy(() => tf.transpose(base.get(n)!));
      const bd = fromTfSync(b);
      b.dispose();
      const d = new Float32Array(trained.data.length);
      for (let i = 0; i < d.length; i++) d[i] = (trained.data[i] as number) - (bd.data[i] as number);
      kv.set(n, hostTensor('float32', trained.shape, d));
    } else {
      kv.set(n, trained);
    }
  }
  const mappers = new Map<string, HostTensor>();
  for (const [prefix, m] of [['mapper_p', trainer.mapperP], ['mapper_b', trainer.mapperB]] as const) {
    if (m) for (const [k, h] of m.toHost()) mappers.set(`${prefix}.${k}`, h);
  }
  return {
    meta: {
      format: CONCEPT_FORMAT,
      version: CONCEPT_VERSION,
      tokens: trainer.tokens,
      classWord: cfg.classWord,
      attributeWord: cfg.attributeWord,
      numImages: trainer.numImages,
      kvStorage: cfg.kvStorage,
      baseModel: baseModelIdentity(unet, textEncoder, base),
      mapperActivation: trainer.mapperP ? cfg.mapperActivation : undefined,
      mapperOutputNorm: trainer.mapperP?.outputNorm,
      config: cfg,
      steps: trainer.step,
      initWord: trainer.initWordChoice?.word ?? cfg.initWord,
    },
    subject: trainer.subjectEmbedding(),
    pose: attrs.pose,
    background: attrs.background,
    kv,
    mappers,
  };
}

export function saveConcept(path: string, c: DetexConcept): void {
  const t = new Map<string, HostTensor>();
  const C = c.subject.length;
  t.set('subject', hostTensor('float32', [C], c.subject));
  const stack = (rows: Float32Array[]) => {
    const d = new Float32Array(rows.length * C);
    rows.forEach((r, i) => d.set(r, i * C));
    return hostTensor('float32', [rows.length, C], d);
  };
  if (c.pose.length) {
    t.set('pose', stack(c.pose));
    t.set('background', stack(c.background));
  }
  for (const [k, h] of c.kv) t.set(`unet.${k}`, h);
  for (const [k, h] of c.mappers) t.set(k, h);
  writeSafetensors(path, t, { detex: JSON.stringify(c.meta) });
}

export function loadConcept(path: string): DetexConcept {
  const { tensors, metadata } = readSafetensors(path);
  let meta: ConceptMeta;
  try {
    meta = JSON.parse(metadata.detex ?? 'null') as ConceptMeta;
  } catch {
    throw new Error(`${path}: the "detex" metadata is not valid JSON`);
  }
  if (!meta || meta.format !== CONCEPT_FORMAT) throw new Error(`${path} is not a DETEX concept file (no "detex" metadata of format ${CONCEPT_FORMAT})`);
  if (meta.version > CONCEPT_VERSION) throw new Error(`${path}: concept format version ${meta.version} is newer than this package reads (${CONCEPT_VERSION})`);
  const need = (k: string) => {
    const h = tensors.get(k);
    if (!h) throw new Error(`${path}: concept file lacks tensor "${k}"`);
    return h;
  };
  const subject = need('subject').data as Float32Array;
  const C = subject.length;
  const rows = (k: string) => {
    if (!tensors.has(k)) return [];
    const d = need(k).data as Float32Array;
    return Array.from({ length: d.length / C }, (_, i) => d.slice(i * C, (i + 1) * C));
  };
  const pose = rows('pose');
  const background = rows('background');
  if (pose.length !== meta.tokens.pose.length || background.length !== meta.tokens.background.length) {
    throw new Error(`${path}: ${pose.length} pose / ${background.length} background embeddings for ${meta.tokens.pose.length} images`);
  }
  const kv = new Map<string, HostTensor>();
  const mappers = new Map<string, HostTensor>();
  for (const [k, h] of tensors) {
    if (k.startsWith('unet.')) kv.set(k.slice(5), h);
    else if (k.startsWith('mapper_')) mappers.set(k, h);
  }
  if (kv.size === 0) throw new Error(`${path}: concept file has no UNet K/V weights`);
  return { meta, subject, pose, background, kv, mappers };
}

/** Token → embedding, for the composer. */
export function conceptVocabulary(c: DetexConcept): ConceptVocabulary {
  const vectors = new Map<string, Float32Array>([[c.meta.tokens.subject, c.subject]]);
  c.meta.tokens.pose.forEach((t, i) => vectors.set(t, c.pose[i]));
  c.meta.tokens.background.forEach((t, i) => vectors.set(t, c.background[i]));
  return { tokens: c.meta.tokens, classWord: c.meta.classWord, attributeWord: c.meta.attributeWord, vectors };
}

export interface PipelineModels {
  unet: UNet2DConditionModel;
  tokenizer: CLIPTokenizer;
  textEncoder: DetexTextEncoder;
}

export interface AppliedConcept {
  vocabulary: ConceptVocabulary;
  /** puts the base K/V weights back (the added tokens stay known to the tokenizer, harmlessly) */
  remove(): void;
}

/** Base K/V of UNets that currently carry a concept (so a second apply is refused with a clear message). */
const applied = new WeakMap<UNet2DConditionModel, string>();

/**
 * Puts the concept's K/V weights into the UNet and its tokens into the tokenizer. Compose prompts with the
 * returned vocabulary (composer.ts): with those substitutions the models give exactly the trained model's
 * outputs (for kvStorage 'weights'; 'delta' adds the deltas to the base, exact up to float32 rounding).
 * Refuses a concept trained on another base model.
 */
export function applyConcept(models: PipelineModels, concept: DetexConcept): AppliedConcept {
  const { unet, tokenizer, textEncoder } = models;
  const current = applied.get(unet);
  if (current) throw new Error(`applyConcept: the UNet already carries concept ${current}; remove() it first`);
  if (concept.subject.length !== textEncoder.hiddenSize) {
    throw new Error(`applyConcept: the concept's embeddings are ${concept.subject.length} wide, this text encoder's are ${textEncoder.hiddenSize}: a different base model`);
  }
  const id = baseModelIdentity(unet, textEncoder);
  if (id !== concept.meta.baseModel) {
    throw new Error(`applyConcept: concept "${concept.meta.tokens.subject} ${concept.meta.classWord}" was trained on base model ${concept.meta.baseModel.slice(0, 12)}…, this model is ${id.slice(0, 12)}… (different UNet K/V weights or text encoder); load the base model it was trained on`);
  }
  for (const name of concept.kv.keys()) {
    if (!unet.store.has(name)) throw new Error(`applyConcept: the UNet has no parameter "${name}"`);
  }
  addConceptTokens(tokenizer, concept.meta.tokens);
  const base = new Map<string, tf.Tensor>();
  for (const [name, h] of concept.kv) {
    const old = unet.store.tensor(name);
    const value = tf.tidy(() => {
      const w = tf.transpose(tf.tensor(h.data as Float32Array, h.shape, 'float32')); // (out, in) → [in, out]
      return concept.meta.kvStorage === 'delta' ? tf.add(old, w) : w;
    });
    base.set(name, old.clone());
    unet.store.set(name, value);
  }
  applied.set(unet, `${concept.meta.tokens.subject} ${concept.meta.classWord}`);
  let removed = false;
  return {
    vocabulary: conceptVocabulary(concept),
    remove() {
      if (removed) return;
      removed = true;
      for (const [name, t] of base) unet.store.set(name, t);
      applied.delete(unet);
    },
  };
}
