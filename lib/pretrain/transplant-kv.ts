/**
 * One UNet's weights with another's cross-attention K/V projections (every attn2 to_k / to_v, the weights DETEX
 * fine-tunes) put in their place: which side of a UNet carries what a pretraining run changed. Session 21 found a
 * pattern run's DETEX cost sitting in its K/V, and the rest of the UNet bringing it back when trained on against
 * frozen K/V (TRAINING.md, runs 33–35).
 */
import { HostTensor } from '../io/host-tensor';
import { KV_PATTERN } from '../detex/trainer';

export function transplantKV(into: ReadonlyMap<string, HostTensor>, kvFrom: ReadonlyMap<string, HostTensor>): { tensors: Map<string, HostTensor>; moved: string[] } {
  const moved = [...into.keys()].filter((k) => KV_PATTERN.test(k)).sort();
  if (moved.length === 0) throw new Error('transplant-kv: the UNet has no attn2.to_k / attn2.to_v weights');
  const extra = [...kvFrom.keys()].filter((k) => KV_PATTERN.test(k) && !into.has(k));
  if (extra.length > 0) throw new Error(`transplant-kv: the K/V source has ${extra[0]}, which the UNet does not (another config?)`);
  const tensors = new Map(into);
  for (const k of moved) {
    const src = kvFrom.get(k);
    if (!src) throw new Error(`transplant-kv: the K/V source has no ${k} (another config?)`);
    const dst = into.get(k)!;
    if (src.shape.join('x') !== dst.shape.join('x')) throw new Error(`transplant-kv: ${k} is [${src.shape}] in the K/V source but [${dst.shape}] in the UNet`);
    tensors.set(k, src);
  }
  return { tensors, moved };
}
