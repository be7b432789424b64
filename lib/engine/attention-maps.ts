/**
 * attentionMaps: what the tokens attend to (the paper's Fig. 6 idea). One guided DDIM run of a prompt (+ concept),
 * exactly as `sample()` runs it (same seed → the same image up to float rounding), with every UNet call made through
 * `forwardWithAttention`: the cross-attention (attn2) probabilities of the chosen layers are captured from the
 * very forward passes that denoise the image, averaged over heads (by the UNet), over the layers at one
 * resolution (default latent/2, the resolution of DETEX's attention loss) and over the denoising steps, for the
 * conditional half of the guided batch. The result holds the raw maps of every prompt token (the softmax over
 * the 77 keys, so they sum to 1 at every pixel), the maps of the requested tokens, and a PNG strip with one
 * panel per requested token (its map, normalised to its max, upsampled bilinearly and tinted over the image).
 */
import * as tf from '@tensorflow/tfjs-core';
import { HostTensor, fromTfSync, hostTensor } from '../io/host-tensor';
import { CrossAttentionLayerInfo } from '../models/unet/attention-capture';
import { encodePng, tensorToImage } from '../io/image';
import { sample as runSample } from '../pipelines/sample';
import { Denoiser } from '../pipelines/types';
import { applyConcept, AppliedConcept } from '../detex/concept';
import { batchSubstitutions, composePrompt, ComposedPrompt } from '../detex/composer';
import { ConceptTokens } from '../detex/tokens';
import { CLIPTokenizer } from '../models/clip/tokenizer';
import { DetexSession } from './session';
import { Hooks, Image, StepProgress, cancelledError } from './types';
import { samplingGuidance } from '../detex/model-defaults';

export interface AttentionMapsRequest {
  /** a composer template ("a photo of a {{V}} {{class}} with {{P.1}} {{attribute}} in {{B.1}} background") or plain text */
  prompt: string;
  negativePrompt?: string;
  conceptPath?: string;
  /**
   * which tokens get a panel, in this order: concept names (`V`, `P.2`, `B.1`, `class`, `attribute`), token strings
   * (`<new1:p2>`) or words of the prompt (`snow`: its first BPE piece). Default: every pseudo-word of the prompt in
   * prompt order, or, without one, every word of the prompt.
   */
  tokens?: string[];
  /** the attn2 layers at latent/downscale (default 2, the paper's 32×32 of a 64×64 latent); falls back to the
   *  nearest resolution the UNet has */
  downscale?: number;
  steps?: number;
  guidance?: number;
  seed?: number;
  width?: number;
  height?: number;
  /** side of one PNG panel in pixels (default max(128, image side)) */
  panelSize?: number;
}

export interface TokenMap {
  /** what was asked for ('V', 'P.1', 'snow', …) */
  label: string;
  /** the token string at that position ('<new1>', 'snow</w>', …) */
  token: string;
  /** position in the 77 token ids */
  position: number;
  /** the raw averaged probability map [h, w] (not normalised) */
  map: HostTensor;
  /** its max and its mean over the map */
  max: number;
  mean: number;
}

export interface AttentionMapsOutput {
  /** the prompt as sampled (pseudo-words as token strings) */
  prompt: string;
  /** the generated image, RGB uint8 [H, W, 3] (identical to sample() with the same request) */
  image: Image;
  /** final latents NHWC float32 [1, h, w, c] */
  latents: HostTensor;
  tokens: TokenMap[];
  /** every token's averaged probabilities, float32 [h, w, Nk] (Nk = 77): sums to 1 over the last axis */
  all: HostTensor;
  /** attn2 module paths averaged, their map size, and how many UNet passes were averaged */
  layers: string[];
  resolution: [number, number];
  passes: number;
  /** PNG: one panel per entry of `tokens`, left to right */
  png: Buffer;
  panelSize: number;
}

function labelOfToken(t: ConceptTokens, token: string): string | undefined {
  if (token === t.subject) return 'V';
  const p = t.pose.indexOf(token);
  if (p >= 0) return `P.${p + 1}`;
  const b = t.background.indexOf(token);
  if (b >= 0) return `B.${b + 1}`;
  return undefined;
}

/** Label → (token string, position) in the composed prompt. */
export function resolveTokens(
  p: ComposedPrompt,
  tokenizer: CLIPTokenizer,
  requested: readonly string[] | undefined,
  concept?: { tokens: ConceptTokens; classWord: string; attributeWord: string },
): Array<{ label: string; token: string; position: number }> {
  const ids = p.inputIds;
  const eos = tokenizer.eosTokenId;
  const end = ids.indexOf(eos) > 0 ? ids.indexOf(eos) : ids.length;
  const pieceAt = (pos: number) => tokenizer.idToToken(ids[pos]) ?? String(ids[pos]);
  if (!requested || requested.length === 0) {
    if (concept && p.substitutions.length) {
      return p.substitutions.map((s) => ({ label: labelOfToken(concept.tokens, s.token) ?? s.token, token: s.token, position: s.position }));
    }
    const out = [];
    for (let pos = 1; pos < end; pos++) {
      const token = pieceAt(pos);
      if (ids[pos] !== tokenizer.bosTokenId && ids[pos] !== eos) out.push({ label: token.replace(/<\/w>$/, ''), token, position: pos });
    }
    return out;
  }
  return requested.map((label) => {
    let token: string | undefined;
    const m = /^(V|[PB])(?:\.(\d+))?$/.exec(label);
    if (concept && m) {
      if (m[1] === 'V' && !m[2]) token = concept.tokens.subject;
      else if (m[1] !== 'V' && m[2]) token = (m[1] === 'P' ? concept.tokens.pose : concept.tokens.background)[Number(m[2]) - 1];
      if (!token) throw new Error(`attentionMaps: the concept has no token ${label}`);
    } else if (concept && label === 'class') {
      token = tokenizer.tokenize(concept.classWord)[0];
    } else if (concept && label === 'attribute') {
      token = tokenizer.tokenize(concept.attributeWord)[0];
    } else if (/^<[^<>\s]+>$/.test(label)) {
      token = label;
    } else {
      token = tokenizer.tokenize(label)[0];
    }
    const id = token === undefined ? undefined : tokenizer.tokenToId(token);
    const position = id === undefined ? -1 : ids.slice(0, end).indexOf(id, 1);
    if (position < 1) throw new Error(`attentionMaps: "${label}" is not in the prompt "${p.text}"`);
    return { label, token: token!, position };
  });
}

/** The attn2 layers used: those at latent/downscale, else the nearest downscale the UNet has. */
export function chooseLayers(layers: CrossAttentionLayerInfo[], downscale: number): CrossAttentionLayerInfo[] {
  if (!layers.length) throw new Error('attentionMaps: the UNet has no cross-attention layers');
  const have = [...new Set(layers.map((l) => l.downscale))];
  const best = have.reduce((a, b) => (Math.abs(Math.log2(b / downscale)) < Math.abs(Math.log2(a / downscale)) ? b : a));
  return layers.filter((l) => l.downscale === best);
}

/** Bilinear (half-pixel centres) resize of a [h, w] map to [H, W]. */
export function upsampleMap(m: Float32Array, h: number, w: number, H: number, W: number): Float32Array {
  const out = new Float32Array(H * W);
  for (let y = 0; y < H; y++) {
    const sy = Math.min(Math.max((y + 0.5) * (h / H) - 0.5, 0), h - 1);
    const y0 = Math.floor(sy);
    const y1 = Math.min(y0 + 1, h - 1);
    const fy = sy - y0;
    for (let x = 0; x < W; x++) {
      const sx = Math.min(Math.max((x + 0.5) * (w / W) - 0.5, 0), w - 1);
      const x0 = Math.floor(sx);
      const x1 = Math.min(x0 + 1, w - 1);
      const fx = sx - x0;
      const top = m[y0 * w + x0] * (1 - fx) + m[y0 * w + x1] * fx;
      const bot = m[y1 * w + x0] * (1 - fx) + m[y1 * w + x1] * fx;
      out[y * W + x] = top * (1 - fy) + bot * fy;
    }
  }
  return out;
}

/** A "jet"-like ramp: 0 → dark blue, 0.5 → green/yellow, 1 → red. */
function heat(v: number): [number, number, number] {
  const c = (x: number) => Math.max(0, Math.min(1, x));
  return [c(1.5 - Math.abs(4 * v - 3)) * 255, c(1.5 - Math.abs(4 * v - 2)) * 255, c(1.5 - Math.abs(4 * v - 1)) * 255];
}

/** One panel: the image (nearest-upsampled to size) with the map (÷ its max, bilinear) tinted over it. */
export function tintPanel(image: Image, map: Float32Array, h: number, w: number, size: number): Uint8Array {
  const [H, W] = image.shape;
  const up = upsampleMap(map, h, w, size, size);
  let max = 0;
  for (const v of map) max = Math.max(max, v);
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    const iy = Math.min(H - 1, Math.floor((y * H) / size));
    for (let x = 0; x < size; x++) {
      const ix = Math.min(W - 1, Math.floor((x * W) / size));
      const v = max > 0 ? up[y * size + x] / max : 0;
      const a = 0.2 + 0.55 * v;
      const col = heat(v);
      for (let c = 0; c < 3; c++) {
        const px = image.data[3 * (iy * W + ix) + c] as number;
        out[3 * (y * size + x) + c] = Math.round((1 - a) * px + a * col[c]);
      }
    }
  }
  return out;
}

const GAP = 4;

/** Panels side by side on white, GAP pixels apart: uint8 [size, n·size + (n−1)·GAP, 3]. */
export function panelStrip(panels: readonly Uint8Array[], size: number): HostTensor {
  const n = panels.length;
  const W = n * size + (n - 1) * GAP;
  const out = new Uint8Array(size * W * 3).fill(255);
  panels.forEach((p, k) => {
    const x0 = k * (size + GAP);
    for (let y = 0; y < size; y++) out.set(p.subarray(y * size * 3, (y + 1) * size * 3), 3 * (y * W + x0));
  });
  return hostTensor('uint8', [size, W, 3], out);
}

export async function attentionMaps(s: DetexSession, req: AttentionMapsRequest, hooks: Hooks<StepProgress> = {}): Promise<AttentionMapsOutput> {
  if (typeof req.prompt !== 'string' || !req.prompt.trim()) throw new Error('attentionMaps: the prompt is empty');
  const models = await s.sd();
  const concept = req.conceptPath ? s.concept(req.conceptPath) : undefined;
  const native = (models.unet.config.raw.sample_size as number) * models.vae.scaleFactor;
  const width = req.width ?? native;
  const height = req.height ?? native;
  const steps = req.steps ?? 50;
  const guidance = samplingGuidance(s.folder, req.guidance);
  const f = models.vae.scaleFactor;
  const layers = chooseLayers(models.unet.crossAttentionLayers(height / f, width / f), req.downscale ?? 2);
  const paths = layers.map((l) => l.path);
  const [mh, mw] = [layers[0].h, layers[0].w];
  return s.exclusive(async () => {
    if (hooks.signal?.aborted) throw cancelledError('attention maps');
    let applied: AppliedConcept | undefined;
    const held: tf.Tensor[] = [];
    try {
      applied = concept ? applyConcept(models, concept) : undefined;
      const p = composePrompt(req.prompt, models.tokenizer, applied?.vocabulary);
      const wanted = resolveTokens(p, models.tokenizer, req.tokens, applied?.vocabulary);
      const subs = batchSubstitutions([p]);
      const cond = models.textEncoder.encode([p.inputIds], subs);
      held.push(cond);
      subs.forEach((x) => x.vector.dispose());
      const neg = models.textEncoder.encode(models.tokenizer.call([req.negativePrompt ?? '']).inputIds, []);
      held.push(neg);
      const nk = cond.shape[1];
      const acc = new Float64Array(mh * mw * nk);
      let passes = 0;
      // the denoiser the pipeline calls: the UNet's own forward pass, with its attn2 maps summed as a side effect
      const capturing: Denoiser = {
        forward(x, timesteps, ehs) {
          const r = models.unet.forwardWithAttention(x, timesteps, ehs, { captureAttention: { layers: paths } });
          const b = x.shape[0];
          const from = guidance > 1 ? b / 2 : 0; // [uncond; cond]: the conditional half only
          for (const path of paths) {
            const m = r.attentionMaps[path];
            const d = m.dataSync();
            for (let i = from; i < b; i++) {
              const o = i * mh * mw * nk;
              for (let j = 0; j < mh * mw * nk; j++) acc[j] += d[o + j];
            }
            passes += b - from;
            m.dispose();
          }
          return r.sample;
        },
      };
      const r = await runSample({
        unet: capturing, vae: models.vae, scheduler: models.scheduler, promptEmbeds: cond, negativeEmbeds: neg,
        guidanceScale: guidance, steps, seed: req.seed ?? 0, width, height, numImagesPerPrompt: 1, signal: hooks.signal,
        onStep: (info) => hooks.onProgress?.({ step: info.step, total: info.total }),
      });
      held.push(r.latents, r.images!);
      const image = tensorToImage(r.images!);
      const all = hostTensor('float32', [mh, mw, nk], Float32Array.from(acc, (v) => v / passes));
      const tokens: TokenMap[] = wanted.map((t) => {
        const map = new Float32Array(mh * mw);
        for (let i = 0; i < mh * mw; i++) map[i] = (all.data as Float32Array)[i * nk + t.position];
        let max = 0;
        let sum = 0;
        for (const v of map) {
          max = Math.max(max, v);
          sum += v;
        }
        return { ...t, map: hostTensor('float32', [mh, mw], map), max, mean: sum / map.length };
      });
      const panelSize = req.panelSize ?? Math.max(128, height, width);
      const strip = panelStrip(tokens.map((t) => tintPanel(image, t.map.data as Float32Array, mh, mw, panelSize)), panelSize);
      const png = await encodePng(strip);
      return { prompt: p.text, image, latents: fromTfSync(r.latents), tokens, all, layers: paths, resolution: [mh, mw], passes, png, panelSize };
    } finally {
      tf.dispose(held);
      applied?.remove();
    }
  });
}
