/**
 * DetexSession: one model folder (diffusers SD v1 layout, `resolveModelDir`: empty = the embedded default), loaded
 * once and lazily per component, so a caller that needs only SAM never loads the UNet:
 *   sd()            unet, vae, scheduler, tokenizer, text_encoder           (loadDetexModels)
 *   imageEncoder()  CLIP vision tower + projection from `image_encoder/`    (or a full CLIP folder, opts.clipDir)
 *   textTower()     CLIP text tower WITH a projection, for CLIP-T          (see below)
 *   sam()           SamPredictor over `sam/`                                (loadSamFromFolder)
 *   dino()          DINO ViT from opts.dinoDir or `<model>/dino/`           (DINO-I only)
 *   tokenizer()     the CLIP tokenizer alone (prompt composition)
 *
 * CLIP-T needs image and text embeddings in one space. SD's `text_encoder` is a CLIPTextModel without
 * `text_projection`, so a SD folder alone cannot give it: pass `clipDir`, a full CLIP folder (model_type "clip",
 * e.g. openai/clip-vit-large-patch14), or ship a `text_encoder/` that holds `text_projection.weight` of the same
 * width as `image_encoder/`'s projection (a matched image/text pair). With `clipDir` both CLIP-I and CLIP-T use
 * that model's towers, as the paper's metrics do.
 *
 * The session serialises the calls that change shared model state (applying a concept, training) with
 * `exclusive()`, so one loaded model serves many concepts and callers. Every job function lives in its own file
 * of this folder and takes and returns plain data.
 */
import * as fs from 'fs';
import * as path from 'path';
import { initBackend } from '../backend';
import { modelWeightBytes, readModelIndex } from '../io/diffusers-folder';
import { resolveModelDir } from '../models/default-model';
import { LoadedModels, loadDetexModels } from '../detex/load-models';
import { CLIPTokenizer } from '../models/clip/tokenizer';
import { CLIPImageProcessor } from '../models/clip/image-processor';
import { loadCLIPModel, loadCLIPTextModel, loadCLIPVisionModel } from '../models/clip/loader';
import { CLIPTextModel } from '../models/clip/text-model';
import { imageEncoderAdapter } from '../detex/model-adapters';
import { DetexImageEncoder } from '../detex/types';
import { SamPredictor, loadSamFromFolder } from '../models/sam';
import { DinoVisionTransformer } from '../models/dino';
import { DetexConcept, loadConcept } from '../detex/concept';

export interface SessionOptions {
  /** a full CLIP folder (model_type "clip") for CLIP-I and CLIP-T; default: the model's own towers */
  clipDir?: string;
  /** a DINO ViT folder (config.json + model.safetensors) for DINO-I; default `<model>/dino/` when present */
  dinoDir?: string;
  warn?: (msg: string) => void;
}

interface Disposable {
  dispose(): void;
}

const CONCEPT_CACHE = 4;

export class DetexSession {
  private readonly parts = new Map<string, Promise<unknown>>();
  private readonly owned: Disposable[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private readonly concepts = new Map<string, DetexConcept>();
  private disposed = false;
  readonly warn: (msg: string) => void;

  private constructor(readonly folder: string, readonly opts: SessionOptions) {
    this.warn = opts.warn ?? ((m) => console.warn(m));
  }

  /** Checks the folder's layout and starts the backend; loads no weights. */
  static async open(folder?: string, opts: SessionOptions = {}): Promise<DetexSession> {
    const dir = resolveModelDir(folder);
    if (!fs.existsSync(dir)) throw new Error(`model folder ${dir} does not exist`);
    readModelIndex(dir);
    await initBackend({ modelBytes: modelWeightBytes(dir) });
    return new DetexSession(dir, opts);
  }

  /** Components loaded so far (for tests and status). */
  loaded(): string[] {
    return [...this.parts.keys()];
  }

  private lazy<T>(name: string, load: () => T | Promise<T>, own: (v: T) => Disposable | undefined): Promise<T> {
    if (this.disposed) return Promise.reject(new Error(`DetexSession ${this.folder} is disposed`));
    let p = this.parts.get(name) as Promise<T> | undefined;
    if (!p) {
      p = Promise.resolve().then(load).then((v) => {
        const d = own(v);
        if (d) this.owned.push(d);
        return v;
      });
      this.parts.set(name, p);
      p.catch(() => this.parts.delete(name)); // a failed load is retried by the next caller
    }
    return p;
  }

  private sub(name: string): string {
    return path.join(this.folder, name);
  }

  sd(): Promise<LoadedModels> {
    return this.lazy('sd', () => loadDetexModels(this.folder, null, this.warn), (m) => m);
  }

  tokenizer(): Promise<CLIPTokenizer> {
    // A private instance: concept tokens added while composing never touch the sampling tokenizer's state.
    return this.lazy('tokenizer', () => CLIPTokenizer.fromFolder(this.sub('tokenizer')), () => undefined);
  }

  /** The projected CLIP image embedding ([N, D]) used by the mappers and CLIP-I. */
  imageEncoder(): Promise<DetexImageEncoder> {
    return this.lazy(
      'image_encoder',
      () => {
        if (this.opts.clipDir) return this.clipPair().then((p) => p.image);
        const dir = this.sub('image_encoder');
        if (!fs.existsSync(dir)) throw new Error(`model folder ${this.folder} has no image_encoder/ (a CLIP vision model with projection); CLIP image features need one`);
        const vision = loadCLIPVisionModel(dir, { warn: this.warn });
        this.owned.push(vision);
        const pp = [path.join(dir, 'preprocessor_config.json'), this.sub('feature_extractor/preprocessor_config.json')].find((f) => fs.existsSync(f));
        return imageEncoderAdapter(vision, pp ? CLIPImageProcessor.fromFile(pp, this.warn) : new CLIPImageProcessor());
      },
      () => undefined,
    );
  }

  /** A full CLIP folder's two towers (opts.clipDir). */
  private clipPair(): Promise<{ image: DetexImageEncoder; text: CLIPTextModel }> {
    return this.lazy(
      'clip',
      () => {
        const dir = this.opts.clipDir!;
        const clip = loadCLIPModel(dir, { warn: this.warn });
        this.owned.push(clip);
        const pp = [path.join(dir, 'preprocessor_config.json'), path.join(dir, 'preprocessor', 'preprocessor_config.json')].find((f) => fs.existsSync(f));
        return { image: imageEncoderAdapter(clip.vision, pp ? CLIPImageProcessor.fromFile(pp, this.warn) : new CLIPImageProcessor()), text: clip.text };
      },
      () => undefined,
    );
  }

  /** The CLIP text tower with `text_projection` (CLIP-T). Throws, saying what is missing, when there is none. */
  textTower(): Promise<CLIPTextModel> {
    if (this.opts.clipDir) return this.clipPair().then((p) => p.text);
    return this.lazy(
      'text_projection',
      () => {
        const text = loadCLIPTextModel(this.sub('text_encoder'), { warn: this.warn });
        if (!text.store.has('text_projection.weight')) {
          text.dispose();
          throw new Error(
            `CLIP text embeddings need a text projection, and ${this.sub('text_encoder')} has none (Stable Diffusion's text encoder is a CLIPTextModel without one). ` +
              'For CLIP-T give a full CLIP model folder (model_type "clip", e.g. openai/clip-vit-large-patch14) as clipDir / --clip',
          );
        }
        return text;
      },
      (t) => t,
    );
  }

  sam(): Promise<SamPredictor> {
    return this.lazy(
      'sam',
      () => {
        const dir = this.sub('sam');
        if (!fs.existsSync(dir)) throw new Error(`model folder ${this.folder} has no sam/ (a Segment Anything model: config.json + model.safetensors)`);
        const model = loadSamFromFolder(dir, { warn: this.warn });
        this.owned.push(model);
        return new SamPredictor(model);
      },
      (p) => p,
    );
  }

  dino(): Promise<DinoVisionTransformer> {
    return this.lazy(
      'dino',
      () => {
        const dir = this.opts.dinoDir ?? this.sub('dino');
        if (!fs.existsSync(path.join(dir, 'config.json'))) {
          throw new Error(`DINO-I needs a DINO ViT folder (config.json + model.safetensors, e.g. converted dino_vits16): none at ${dir}; give dinoDir / --dino`);
        }
        return DinoVisionTransformer.fromFolder(dir, { warn: this.warn });
      },
      (d) => d,
    );
  }

  /** A concept file, read once per (path, size, mtime). */
  concept(file: string): DetexConcept {
    const st = fs.statSync(file);
    const key = `${path.resolve(file)}:${st.size}:${st.mtimeMs}`;
    let c = this.concepts.get(key);
    if (!c) {
      c = loadConcept(file);
      this.concepts.set(key, c);
      while (this.concepts.size > CONCEPT_CACHE) this.concepts.delete(this.concepts.keys().next().value as string);
    }
    return c;
  }

  /** Runs `fn` after every earlier exclusive call has finished (calls that change shared weights). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Frees every loaded component (waits for loads in flight). */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.queue;
    await Promise.all([...this.parts.values()].map((p) => p.catch(() => undefined)));
    for (const d of this.owned.splice(0).reverse()) d.dispose();
    this.parts.clear();
    this.concepts.clear();
  }
}
