/**
 * The one place where nodes meet lib/. Each node calls an `Engine` method with plain data
 * (HostTensors, strings, file paths) and gets plain data back, so no live tensor ever reaches a
 * msg. `libEngine` (lib-engine.ts) wires the methods to lib/; while a lib part has not landed its
 * method throws a clear error. `DETEX_NODES_ENGINE=/abs/path/module.js` replaces the engine
 * (in the runtime and in the training child): the node tests use a small fake engine this way.
 */
import { HostTensor } from '../../lib/io/host-tensor';

export interface EngineModel {
  folder: string;
  /** free every tensor the model holds */
  dispose(): void;
}

export interface SamPrompt {
  /** [[x, y], ...] in pixels of the image */
  points?: number[][];
  /** 1 = foreground, 0 = background, one per point */
  labels?: number[];
  /** [x0, y0, x1, y1] in pixels */
  box?: number[];
}

export interface Progress {
  step: number;
  total: number;
  loss?: number;
  /** training only: 'class-images' while prior-preservation images are generated, then 'train' (and 'preview') */
  phase?: string;
  /** training only: each loss term of the step */
  losses?: Record<string, number>;
  /** a preview image as RGB uint8 [H, W, 3] */
  preview?: HostTensor;
}

export interface Hooks {
  onProgress?(p: Progress): void;
  signal?: AbortSignal;
}

export interface TrainJob {
  /** RGB uint8 [H, W, 3] each */
  images: HostTensor[];
  /** uint8 [H, W] each, 1 = subject */
  masks: HostTensor[];
  className: string;
  conceptPath: string;
  steps: number;
  seed: number;
  previewEvery: number;
  resume: boolean;
  /** DDIM steps per generated class image (default 50) */
  classImageSteps?: number;
  /** other DetexConfig fields (batchSize, learningRate, preset, numClassImages, …) */
  options?: Record<string, unknown>;
}

export interface ComposeResult {
  /** the prompt, pseudo-words as their token strings */
  prompt: string;
  /** the prompt without pseudo-words (for CLIP-T) */
  plainPrompt: string;
  /** the concept tokens used, in prompt order */
  tokens: string[];
  /** token ids, padded */
  inputIds: number[];
  /** each pseudo-word's position in inputIds, token string and embedding */
  substitutions: Array<{ position: number; token: string; vector: number[] }>;
}

export interface SampleRequest {
  prompt: string;
  negativePrompt?: string;
  conceptPath?: string;
  steps: number;
  /** absent: the model's own default (its detex_config.json), else the paper's 6 */
  guidance?: number;
  seed: number;
  width?: number;
  height?: number;
}

export interface SampleResult {
  /** RGB uint8 [H, W, 3] */
  image: HostTensor;
  /** the final latents, NHWC float32 */
  latents: HostTensor;
}

export interface AttentionMapsResult extends SampleResult {
  /** PNG: one panel per token (its cross-attention map tinted over the image) */
  png: Buffer;
  /** the panels' tokens, left to right: label ('V', 'P.1', …), token string, max of the raw map */
  tokens: Array<{ label: string; token: string; max: number }>;
}

export interface EvalRequest {
  images: HostTensor[];
  prompt?: string;
  references?: HostTensor[];
  referenceMasks?: HostTensor[];
  metrics: string[];
}

export interface Engine {
  readonly name: string;
  loadModel(folder: string): Promise<EngineModel>;
  samMask(m: EngineModel, image: HostTensor, prompt: SamPrompt): Promise<HostTensor>;
  clipImage(m: EngineModel, images: HostTensor[]): Promise<HostTensor>;
  clipText(m: EngineModel, texts: string[]): Promise<HostTensor>;
  /** [P_i] (pose/view) and [B_i] (background) embeddings [N, C] from CLIP image embeddings [N, D] */
  mapAttributes(m: EngineModel, conceptPath: string, imageEmbeds: HostTensor): Promise<{ pose: HostTensor; background: HostTensor }>;
  /** the tokenizer is the default model's (the CLIP BPE of every SD v1) unless a model folder is given */
  compose(template: string, conceptPath: string, view: Record<string, unknown>, modelFolder?: string): Promise<ComposeResult>;
  sample(m: EngineModel, req: SampleRequest, hooks: Hooks): Promise<SampleResult>;
  /** sample() that also captures what the tokens attend to (optional: an engine without it cannot give attention maps) */
  attentionMaps?(m: EngineModel, req: SampleRequest & { tokens?: string[] }, hooks: Hooks): Promise<AttentionMapsResult>;
  evaluate(m: EngineModel, req: EvalRequest): Promise<Record<string, number>>;
  /** runs in the training child process */
  train(modelFolder: string, job: TrainJob, hooks: Hooks): Promise<{ conceptPath: string }>;
}

let cached: Engine | undefined;

export function getEngine(): Engine {
  if (!cached) {
    const override = process.env.DETEX_NODES_ENGINE;
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const mod = override ? require(override) : require('./lib-engine');
    cached = (mod.engine ?? mod.default ?? mod) as Engine;
  }
  return cached;
}

/** Forgets the chosen engine so the next getEngine() reads DETEX_NODES_ENGINE again (tests switch fake ↔ real). */
export function resetEngine(): void {
  cached = undefined;
}
