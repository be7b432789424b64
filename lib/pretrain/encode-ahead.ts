/**
 * UNet pretraining's data, encoded ahead of the training step by a second process.
 *
 * Each UNet step renders 16 world scenes and runs them through the frozen VAE encoder: ~25 % of the step,
 * on the same thread as the UNet's forward and backward, while the training process keeps only ~1.4 of the
 * 2 cores busy. A low-priority producer (scripts/pretrain/encode-ahead.ts) computes the batches of the next
 * steps with exactly the rng the training step would use (`stepBatch`), and writes them to
 * `<cache>/ahead/step-<n>.safetensors`; the step takes its file when it is there and encodes inline when it is
 * not. The data are therefore the same with or without the producer, up to float rounding of the encoder,
 * and a run stays resumable and seeded.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { writeFileAtomic } from '../io/atomic-write';
import { hostTensor, HostTensor, toTf } from '../io/host-tensor';
import { readSafetensors, writeSafetensors } from '../io/safetensors';
import { AutoencoderKL } from '../models/vae/autoencoder-kl';
import { Rng } from '../random';
import { SceneFilter, sceneFilterSpec } from '../world/scene-filter';
import { worldBatch } from './world-data';

export interface StepBatch {
  /** VAE posterior sample × scaling_factor, [B, h, w, c] */
  latents: tf.Tensor4D;
  /** float32 [B, S, S, 1], 1 on the subject */
  masks: HostTensor;
  captions: string[];
  /** with patternSets: float32 [B, S, S, 1], where each item's pattern shows (lib/world/pattern-sets.ts) */
  patternRegions?: HostTensor;
}

export interface StepBatchOptions {
  batch: number;
  size: number;
  /** fraction of close-up items (worldBatch's closeUps) */
  closeUps?: number;
  /** a narrowed world (worldBatch's only) */
  only?: SceneFilter;
  /** pattern sets (worldBatch's patternSets) */
  patternSets?: boolean;
}

/** The batch of a training step from the step's rng: what the loss function would compute inline. */
export function stepBatch(vae: AutoencoderKL, rng: Rng, o: StepBatchOptions): StepBatch {
  const b = worldBatch(rng.fork('data'), { batch: o.batch, size: o.size, closeUps: o.closeUps, only: o.only, patternSets: o.patternSets });
  const latents = tf.tidy(() => vae.encodeLatents(toTf(b.images) as tf.Tensor4D, rng.fork('posterior')));
  return { latents, masks: b.masks, captions: b.captions, ...(b.patternRegions ? { patternRegions: b.patternRegions } : {}) };
}

/** The rng runLoop hands step `step`'s (single) micro-batch: see lib/pretrain/loop.ts. */
export function loopStepRng(seed: number, step: number): Rng {
  return new Rng(seed).fork(`step:${step}`).fork(0);
}

export function aheadDir(cache: string): string {
  return path.join(cache, 'ahead');
}

function aheadFile(dir: string, step: number): string {
  return path.join(dir, `step-${String(step).padStart(7, '0')}.safetensors`);
}

const CURSOR = 'cursor';

/** The trainer names the step it is computing (before taking its file), so the producer knows what to make next. */
export function writeCursor(dir: string, step: number): void {
  fs.mkdirSync(dir, { recursive: true });
  writeFileAtomic(path.join(dir, CURSOR), String(step));
}

export function readCursor(dir: string): number | undefined {
  try {
    const v = Number(fs.readFileSync(path.join(dir, CURSOR), 'utf8'));
    return Number.isInteger(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Atomic (temp file + rename), so the trainer never reads half a batch. `vaeId` names the encoder, `mix` the data mix. */
export function writeAheadBatch(dir: string, step: number, b: StepBatch, vaeId: string, mix: Pick<StepBatchOptions, 'closeUps' | 'only' | 'patternSets'> = {}): void {
  fs.mkdirSync(dir, { recursive: true });
  const z = b.latents;
  writeSafetensors(aheadFile(dir, step), {
    latents: hostTensor('float32', [...z.shape], z.dataSync() as Float32Array),
    masks: { ...b.masks, data: Uint8Array.from(b.masks.data), dtype: 'uint8' },
    ...(b.patternRegions ? { patternRegions: { ...b.patternRegions, data: Uint8Array.from(b.patternRegions.data), dtype: 'uint8' as const } } : {}),
  }, { step: String(step), vae: vaeId, closeUps: String(mix.closeUps ?? 0), only: sceneFilterSpec(mix.only), patternSets: String(!!mix.patternSets), captions: JSON.stringify(b.captions) });
}

/**
 * Step `step`'s batch if the producer wrote it for this VAE (the file is removed), else undefined. A file for
 * another VAE, batch shape, close-up fraction, scene filter or pattern-set choice, or one that cannot be read, is removed and ignored: the step then
 * encodes inline.
 */
export function takeAheadBatch(dir: string, step: number, vaeId: string, o: StepBatchOptions): StepBatch | undefined {
  const file = aheadFile(dir, step);
  if (!fs.existsSync(file)) return undefined;
  try {
    const { tensors, metadata } = readSafetensors(file);
    const z = tensors.get('latents');
    const m = tensors.get('masks');
    const regions = tensors.get('patternRegions');
    const captions = JSON.parse(metadata.captions ?? '[]') as string[];
    const ok = metadata.vae === vaeId && metadata.step === String(step) && (metadata.closeUps ?? '0') === String(o.closeUps ?? 0) &&
      (metadata.only ?? '') === sceneFilterSpec(o.only) && (metadata.patternSets ?? 'false') === String(!!o.patternSets) &&
      z && m && z.shape[0] === o.batch &&
      m.shape.join() === [o.batch, o.size, o.size, 1].join() && captions.length === o.batch &&
      (!o.patternSets || regions?.shape.join() === m.shape.join());
    if (!ok) return undefined;
    const latents = tf.tensor4d(z.data as Float32Array, z.shape as [number, number, number, number]);
    const masks = hostTensor('float32', m.shape, Float32Array.from(m.data));
    return { latents, masks, captions, ...(o.patternSets && regions ? { patternRegions: hostTensor('float32', regions.shape, Float32Array.from(regions.data)) } : {}) };
  } catch {
    // unreadable file or metadata: encode inline
    return undefined;
  } finally {
    fs.rmSync(file, { force: true });
  }
}

/** Removes files of steps before `beforeStep`: the trainer has passed them (it resumed later, or ran ahead). */
export function pruneAhead(dir: string, beforeStep: number): void {
  if (!fs.existsSync(dir)) return;
  for (const f of fs.readdirSync(dir)) {
    const m = /^step-(\d+)\.safetensors$/.exec(f);
    if (m && Number(m[1]) < beforeStep) fs.rmSync(path.join(dir, f), { force: true });
  }
}

export interface ProduceOptions extends StepBatchOptions {
  dir: string;
  seed: number;
  vaeId: string;
  /** how many steps past the trainer's cursor to keep ready (default 6) */
  ahead?: number;
  /** last step to produce (inclusive) */
  until: number;
  /** checked between batches; true stops the producer */
  stop: () => boolean;
  /** called while waiting for the trainer (default: sleep 200 ms) */
  idle?: () => Promise<void>;
}

/** Produces batches for steps cursor+1 … cursor+ahead until `until` or `stop()`; returns how many it wrote. */
export async function produceAhead(vae: AutoencoderKL, o: ProduceOptions): Promise<number> {
  const ahead = o.ahead ?? 6;
  const idle = o.idle ?? (() => new Promise<void>((r) => setTimeout(r, 200)));
  let written = 0;
  while (!o.stop()) {
    const cursor = readCursor(o.dir) ?? 0;
    // the cursor's own step may still be being taken: only older files go
    pruneAhead(o.dir, cursor);
    let next: number | undefined;
    for (let s = cursor + 1; s <= Math.min(cursor + ahead, o.until); s++) {
      if (!fs.existsSync(aheadFile(o.dir, s))) {
        next = s;
        break;
      }
    }
    if (next === undefined) {
      if (cursor >= o.until) break;
      await idle();
      continue;
    }
    const b = stepBatch(vae, loopStepRng(o.seed, next), o);
    try {
      // The trainer may have passed `next` while it was encoded: then the file would only be pruned.
      if ((readCursor(o.dir) ?? 0) < next) {
        writeAheadBatch(o.dir, next, b, o.vaeId, o);
        written++;
      }
    } finally {
      b.latents.dispose();
    }
  }
  return written;
}
