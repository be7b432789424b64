/**
 * evaluate: the paper's scores (§4.1) for generated images against a subject's reference images, as plain data:
 *   clip-t     cos(CLIP image of each generated image, CLIP text of the prompt without pseudo-words)
 *   clip-i     mean cos over (generated, reference) pairs of CLIP image embeddings
 *   clip-i-fg  the same with the references' backgrounds removed by their masks (x·m + black·(1−m))
 *   dino-i / dino-i-fg   the same with DINO ViT CLS features (session: dinoDir or <model>/dino/)
 * CLIP-T needs a text tower with a projection (session.ts); a metric that cannot be computed throws, naming
 * what is missing, rather than being left out. Images may have any sizes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { hostTensor } from '../io/host-tensor';
import { clipTextScore, meanPairwiseCosine } from '../metrics/similarity';
import { dinoPreprocess } from '../models/dino';
import { clipImage, clipText, rowsOf } from './clip';
import { DetexSession } from './session';
import { Image, Mask } from './types';

export const METRICS = ['clip-t', 'clip-i', 'clip-i-fg', 'dino-i', 'dino-i-fg'] as const;
export type MetricName = (typeof METRICS)[number];

export interface EvaluateRequest {
  /** generated images */
  images: Image[];
  references?: Image[];
  /** one per reference, 1 = subject (for the -fg metrics) */
  referenceMasks?: Mask[];
  /** the prompt for CLIP-T; pseudo-word tokens (`<new1>`, `<new1:p2>`) and {{placeholders}} are removed */
  prompt?: string;
  /** default: every metric the inputs allow */
  metrics?: MetricName[];
}

export type Scores = Partial<Record<MetricName, number>>;

/** "a <new1> dog with <new1:p1> pose on the beach" → "a dog with pose on the beach" */
export function plainPrompt(prompt: string): string {
  return prompt.replace(/\{\{[^}]*\}\}/g, ' ').replace(/<[^<>\s]+>/g, ' ').replace(/\s+/g, ' ').trim();
}

/** reference · mask + black · (1 − mask), uint8 [H, W, 3] */
export function foreground(img: Image, mask: Mask): Image {
  const [H, W] = img.shape;
  if (mask.shape[0] !== H || mask.shape[1] !== W) throw new Error(`evaluate: mask [${mask.shape}] does not match its image [${img.shape}]`);
  const out = new Uint8Array(H * W * 3);
  for (let i = 0; i < H * W; i++) if (mask.data[i]) for (let c = 0; c < 3; c++) out[3 * i + c] = img.data[3 * i + c] as number;
  return hostTensor('uint8', [H, W, 3], out);
}

async function dinoEmbed(s: DetexSession, images: readonly Image[]): Promise<Float32Array[]> {
  const dino = await s.dino();
  const out: Float32Array[] = [];
  for (const img of images) {
    const x = await dinoPreprocess(img);
    const f = dino.forward(x);
    out.push(Float32Array.from(f.dataSync() as Float32Array));
    tf.dispose([x, f]);
  }
  return out;
}

export function defaultMetrics(r: Omit<EvaluateRequest, 'metrics'>): MetricName[] {
  const m: MetricName[] = [];
  if (r.prompt !== undefined) m.push('clip-t');
  if (r.references?.length) m.push('clip-i', 'dino-i');
  if (r.referenceMasks?.length) m.push('clip-i-fg', 'dino-i-fg');
  return m;
}

export async function evaluate(s: DetexSession, r: EvaluateRequest): Promise<Scores> {
  const metrics = r.metrics ?? defaultMetrics(r);
  for (const k of metrics) if (!METRICS.includes(k)) throw new Error(`evaluate: unknown metric "${k}" (known: ${METRICS.join(', ')})`);
  if (!r.images.length) throw new Error('evaluate: no generated images');
  const needRefs = metrics.filter((k) => k !== 'clip-t');
  if (needRefs.length && !r.references?.length) throw new Error(`evaluate: ${needRefs.join(', ')} need reference images`);
  const fgWanted = metrics.some((k) => k.endsWith('-fg'));
  if (fgWanted && r.referenceMasks?.length !== r.references?.length) {
    throw new Error(`evaluate: the -fg metrics need one mask per reference image (${r.references?.length ?? 0} references, ${r.referenceMasks?.length ?? 0} masks)`);
  }
  if (metrics.includes('clip-t') && typeof r.prompt !== 'string') throw new Error('evaluate: clip-t needs the prompt');
  const fg = fgWanted ? r.references!.map((img, i) => foreground(img, r.referenceMasks![i])) : [];
  const out: Scores = {};
  if (metrics.some((k) => k.startsWith('clip'))) {
    const gen = rowsOf(await clipImage(s, r.images));
    if (metrics.includes('clip-t')) out['clip-t'] = clipTextScore(gen, rowsOf(await clipText(s, [plainPrompt(r.prompt!)]))[0]);
    if (metrics.includes('clip-i')) out['clip-i'] = meanPairwiseCosine(gen, rowsOf(await clipImage(s, r.references!)));
    if (metrics.includes('clip-i-fg')) out['clip-i-fg'] = meanPairwiseCosine(gen, rowsOf(await clipImage(s, fg)));
  }
  if (metrics.some((k) => k.startsWith('dino'))) {
    const gen = await dinoEmbed(s, r.images);
    if (metrics.includes('dino-i')) out['dino-i'] = meanPairwiseCosine(gen, await dinoEmbed(s, r.references!));
    if (metrics.includes('dino-i-fg')) out['dino-i-fg'] = meanPairwiseCosine(gen, await dinoEmbed(s, fg));
  }
  return out;
}

