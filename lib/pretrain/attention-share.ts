/**
 * Where a text-to-image UNet looks: the share of each attn2 layer's cross-attention (head mean) that the subject's
 * pixels give to each kind of token — the attribute words, the other words, the start and end tokens and the
 * padding. Why: the pattern words were ignored although the text encoder tells them apart at their own position
 * (TRAINING.md, session 11); this shows whether the UNet reads that position at all (lib/pretrain/word-attention.ts
 * is the training term that makes it).
 */
import * as tf from '@tensorflow/tfjs-core';
import { toTf } from '../io/host-tensor';
import { UNet2DConditionModel } from '../models/unet/unet';
import { AutoencoderKL } from '../models/vae/autoencoder-kl';
import { DDIMScheduler } from '../schedulers/ddim';
import { Rng } from '../random';
import { TextConditioner } from './text-cond';
import { AttendedAttribute, attributeTokenPositions } from './word-attention';
import { evalScenes, packScenes } from './world-data';
import { maskOnGrid } from './mask-grid';

export const TOKEN_KINDS = ['pattern', 'colour', 'class', 'other', 'padding', 'start', 'end'] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

export interface LayerShare {
  /** attn2 module path */
  layer: string;
  /** map side */
  size: number;
  share: Record<TokenKind, number>;
}

/** The kind of each of the 77 positions of every caption. */
export function tokenKinds(text: TextConditioner, captions: readonly string[]): TokenKind[][] {
  const ids = text.tokenIds(captions);
  const kinds: TokenKind[][] = ids.map((seq) => {
    const end = firstEnd(seq);
    return seq.map((_, k) => (k === 0 ? 'start' : k < end ? 'other' : k === end ? 'end' : 'padding'));
  });
  for (const attr of ['pattern', 'colour', 'class'] as AttendedAttribute[]) {
    attributeTokenPositions(captions, ids, attr, (w) => text.wordIds(w)).forEach((pos, i) => pos.forEach((k) => (kinds[i][k] = attr)));
  }
  return kinds;
}

/** The end token is the last id of a padded sequence (CLIP pads with it); its first occurrence after the start. */
function firstEnd(seq: readonly number[]): number {
  const eos = seq[seq.length - 1];
  const at = seq.indexOf(eos, 1);
  return at < 0 ? seq.length : at;
}

/**
 * Shares on `n` patterned train-split renders (seeded set), all noised to timestep `t` with one seeded draw.
 * Tensors it makes are disposed.
 */
export function attentionShares(
  m: { unet: UNet2DConditionModel; vae: AutoencoderKL; text: TextConditioner; scheduler: DDIMScheduler },
  o: { n: number; t: number; sceneSeed?: number; noiseSeed?: number },
): LayerShare[] {
  const scenes = evalScenes(o.n * 2, o.sceneSeed ?? 99, { split: 'train' }).scenes.filter((s) => s.attributes.pattern !== 'plain').slice(0, o.n);
  if (scenes.length === 0) throw new Error('attention shares: no patterned scene in the set');
  const batch = packScenes(scenes);
  const kinds = tokenKinds(m.text, batch.captions);
  const noiseRng = new Rng(o.noiseSeed ?? 5);
  const maps: Array<{ layer: string; size: number; map: Float32Array; mask: Float32Array; keys: number }> = [];
  tf.tidy(() => {
    const latents = m.vae.encodeLatents(toTf(batch.images) as tf.Tensor4D);
    const noise = tf.tensor(noiseRng.normal(latents.shape), latents.shape) as tf.Tensor4D;
    const ts = scenes.map(() => o.t);
    const noisy = m.scheduler.addNoise(latents, noise, ts) as tf.Tensor4D;
    const r = m.unet.forwardWithAttention(noisy, ts, m.text.embed(batch.captions));
    const masks = toTf(batch.masks) as tf.Tensor4D;
    for (const [layer, map] of Object.entries(r.attentionMaps)) {
      const [, h, w, keys] = map.shape;
      const mask = maskOnGrid(masks, h, w, 'attention shares');
      maps.push({ layer, size: h, map: map.dataSync() as Float32Array, mask: mask.dataSync() as Float32Array, keys });
    }
  });
  return maps.map(({ layer, size, map, mask, keys }) => {
    const acc = Object.fromEntries(TOKEN_KINDS.map((k) => [k, 0])) as Record<TokenKind, number>;
    let weight = 0;
    for (let i = 0; i < scenes.length; i++) {
      for (let p = 0; p < size * size; p++) {
        const a = mask[i * size * size + p];
        if (a === 0) continue;
        weight += a;
        for (let k = 0; k < keys; k++) acc[kinds[i][k]] += a * map[(i * size * size + p) * keys + k];
      }
    }
    for (const k of TOKEN_KINDS) acc[k] /= weight;
    return { layer: layer.replace('.transformer_blocks.0.attn2', ''), size, share: acc };
  });
}
