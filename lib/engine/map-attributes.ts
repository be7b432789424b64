/** mapAttributes: CLIP image embeddings [N, D] → [P] (pose/view) and [B] (background) embeddings [N, C] with a concept's mappers. */
import * as tf from '@tensorflow/tfjs-core';
import { HostTensor, fromTfSync } from '../io/host-tensor';
import { AttributeMapper } from '../detex/mappers';
import { DetexConcept } from '../detex/concept';
import { DetexSession } from './session';

export interface AttributeEmbeddings {
  /** M^P(e): [N, C], the [P_i] embeddings */
  pose: HostTensor;
  /** M^B(e): [N, C], the [B_i] embeddings */
  background: HostTensor;
}

function mapperOf(c: DetexConcept, prefix: 'mapper_p' | 'mapper_b', file: string): AttributeMapper {
  const w = new Map<string, HostTensor>();
  for (const [k, h] of c.mappers) if (k.startsWith(`${prefix}.`)) w.set(k.slice(prefix.length + 1), h);
  const first = w.get('layers.0.weight');
  const last = w.get('layers.4.weight');
  if (!first || !last) throw new Error(`mapAttributes: concept ${file} has no ${prefix} (it was trained without attribute mappers, e.g. the Custom Diffusion or "no-mappers" preset)`);
  return new AttributeMapper({ inDim: first.shape[1], hidden: first.shape[0], outDim: last.shape[0] }, w, c.meta.mapperActivation ?? 'gelu', c.meta.mapperOutputNorm);
}

export async function mapAttributes(s: DetexSession, conceptPath: string, imageEmbeds: HostTensor): Promise<AttributeEmbeddings> {
  const c = s.concept(conceptPath);
  let e = imageEmbeds;
  if (e.shape.length === 1) e = { ...e, shape: [1, e.shape[0]] };
  if (e.shape.length !== 2) throw new Error(`mapAttributes: image embeddings must be [N, D], got [${imageEmbeds.shape}]`);
  const mp = mapperOf(c, 'mapper_p', conceptPath);
  let mb: AttributeMapper | undefined;
  try {
    mb = mapperOf(c, 'mapper_b', conceptPath);
    if (e.shape[1] !== mp.dims.inDim) throw new Error(`mapAttributes: the concept's mappers take ${mp.dims.inDim}-wide CLIP image embeddings, got ${e.shape[1]} (another image encoder?)`);
    const x = tf.tensor2d(e.data instanceof Float32Array ? e.data : Float32Array.from(e.data), e.shape as [number, number]);
    const p = mp.apply(x);
    const b = mb.apply(x);
    try {
      return { pose: fromTfSync(p), background: fromTfSync(b) };
    } finally {
      tf.dispose([x, p, b]);
    }
  } finally {
    mp.dispose();
    mb?.dispose();
  }
}
