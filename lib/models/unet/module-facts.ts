/**
 * The normalisation and attention settings of every module of a built UNet, keyed by diffusers' module
 * path, in the form the fixtures' `module_facts` use. Found by walking the model's blocks, so it reports
 * what the model actually computes with (not what the config says).
 */
import * as tf from '@tensorflow/tfjs-core';
import { GroupNorm, LayerNorm, ParamStore } from '../../nn';
import { Attention } from './attention';

export type ModuleFact =
  | { type: 'GroupNorm'; num_groups: number; num_channels: number; eps: number }
  | { type: 'LayerNorm'; shape: number[]; eps: number }
  | { type: 'Attention'; heads: number; head_dim: number; scale: number };

const stripWeight = (name: string) => name.replace(/\.weight$/, '');

export function moduleFacts(root: object): Record<string, ModuleFact> {
  const facts: Record<string, ModuleFact> = {};
  const seen = new Set<object>();
  const visit = (node: unknown): void => {
    if (node === null || typeof node !== 'object' || seen.has(node)) return;
    seen.add(node);
    if (node instanceof GroupNorm) {
      facts[stripWeight(node.weight)] = { type: 'GroupNorm', num_groups: node.groups, num_channels: node.channels, eps: node.eps };
      return;
    }
    if (node instanceof LayerNorm) {
      facts[stripWeight(node.weight)] = { type: 'LayerNorm', shape: [node.dim], eps: node.eps };
      return;
    }
    if (node instanceof Attention) {
      facts[node.prefix] = { type: 'Attention', heads: node.heads, head_dim: node.dimHead, scale: node.scale };
      return;
    }
    // blocks hold their parts in fields and arrays; tensors and the store are not modules
    if (node instanceof ParamStore || node instanceof tf.Tensor || ArrayBuffer.isView(node)) return;
    for (const v of Object.values(node)) visit(v);
  };
  visit(root);
  return facts;
}
