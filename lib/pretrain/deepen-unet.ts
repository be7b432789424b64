/**
 * A trained UNet2DConditionModel's weights as the start of a deeper one: a config with more resnets per block
 * (layers_per_block) computes exactly the trained function at step 0, because every inserted layer starts as an
 * identity — a resnet whose last conv is zero adds nothing to its shortcut, a Transformer2DModel whose proj_out is
 * zero adds nothing to its input (the zero-initialised residual branch of Goyal et al. 2017 and ControlNet's zero
 * convs). Session 14's reason: run 14's width helped class but not pattern, and every block at the 16×16 latent
 * grid — where patterns live — has one resnet and one attention, SD v1 has two.
 *
 * Where the layers go, so that the skip connections still pair up: a down block's new layers follow its trained
 * ones, so their skips repeat the last trained layer's output. The up block at the same level pops skips in reverse
 * (newest first): its first resnet keeps reading what it read before (the last layer's output), the repeats go to
 * the inserted resnets right after it — each with a 1×1 shortcut [I | 0] that passes its hidden input and drops
 * the skip — and the trained resnets after it read the older skips as before.
 */
import { HostTensor } from '../io/host-tensor';
import { Initializer } from '../nn/params';
import { ResolvedUNetConfig, UNetConfig, resolveUNetConfig } from '../models/unet/config';

/** Config keys that may differ between the trained and the deeper model. */
const MAY_DIFFER = new Set(['layers_per_block', '_diffusers_version', '_name_or_path']);

export interface DeepenedUNet {
  /** every parameter of the deeper model: trained, identity-initialised, or from `fresh` */
  init: Initializer;
  /** trained parameters the deeper model has not asked for yet (after building it: none, or a mapping bug) */
  unread(): string[];
}

type Origin = { kind: 'trained'; name: string } | { kind: 'inserted'; block: 'down' | 'up'; part: 'resnet' | 'attention' };

export function deepenUNet(oldConfig: UNetConfig, newConfig: UNetConfig, weights: Map<string, HostTensor>, fresh: Initializer): DeepenedUNet {
  const oc = resolveUNetConfig(oldConfig, { warn: () => undefined });
  const nc = resolveUNetConfig(newConfig, { warn: () => undefined });
  checkDeepenable(oc, nc);
  const read = new Set<string>();
  const init: Initializer = (name, shape) => {
    const origin = originOf(oc, nc, name);
    if (origin.kind === 'trained') {
      const t = weights.get(origin.name);
      if (!t) throw new Error(`deepen: the trained weights have no '${origin.name}' (for '${name}')`);
      if (t.shape.join() !== shape.join()) throw new Error(`deepen: '${origin.name}' is [${t.shape}], '${name}' needs [${shape}]`);
      read.add(origin.name);
      return t;
    }
    return identityPart(name, shape, origin) ?? fresh(name, shape);
  };
  return { init, unread: () => [...weights.keys()].filter((k) => !read.has(k)) };
}

function checkDeepenable(oc: ResolvedUNetConfig, nc: ResolvedUNetConfig): void {
  for (const key of Object.keys(oc.raw) as Array<keyof UNetConfig>) {
    if (MAY_DIFFER.has(key)) continue;
    if (JSON.stringify(oc.raw[key]) !== JSON.stringify(nc.raw[key])) {
      throw new Error(`deepen: only layers_per_block may change, but ${key} is ${JSON.stringify(oc.raw[key])} → ${JSON.stringify(nc.raw[key])}`);
    }
  }
  // Transformer depths need no check: their keys are equal above, and resolveUNetConfig ties a per-layer depth list
  // to the block's layer count, so a block that gains layers has one depth for all, inserted ones included.
  oc.down.forEach((b, i) => {
    if (nc.down[i].numLayers < b.numLayers) {
      throw new Error(`deepen: down block ${i} would lose layers (${b.numLayers} → ${nc.down[i].numLayers})`);
    }
  });
}

/** Where parameter `name` of the deeper model comes from. */
function originOf(oc: ResolvedUNetConfig, nc: ResolvedUNetConfig, name: string): Origin {
  const m = /^(down|up)_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.*)$/.exec(name);
  if (!m) return { kind: 'trained', name };
  const [, block, bi, partKey, li, rest] = m;
  const i = Number(bi);
  const j = Number(li);
  const part = partKey === 'resnets' ? 'resnet' : 'attention';
  const trained = (k: number): Origin => ({ kind: 'trained', name: `${block}_blocks.${i}.${partKey}.${k}.${rest}` });
  if (block === 'down') return j < oc.down[i].numLayers ? trained(j) : { kind: 'inserted', block: 'down', part };
  const inserted = nc.up[i].numLayers - oc.up[i].numLayers;
  if (j === 0) return trained(0);
  if (j <= inserted) return { kind: 'inserted', block: 'up', part };
  return trained(j - inserted);
}

/** The parameters that make an inserted layer an identity; undefined for the ones free to start anywhere. */
function identityPart(name: string, shape: readonly number[], origin: Extract<Origin, { kind: 'inserted' }>): HostTensor | undefined {
  const leaf = origin.part === 'resnet' ? /\.conv2\.(weight|bias)$/ : /\.proj_out\.(weight|bias)$/;
  if (leaf.test(name)) return zeros(shape);
  if (origin.part === 'resnet' && /\.conv_shortcut\.weight$/.test(name)) {
    if (origin.block !== 'up') throw new Error(`deepen: an inserted down resnet has in = out channels and no shortcut, but '${name}' was asked for`);
    // [out, hidden + skip, 1, 1]: pass the hidden input, drop the skip
    const [out, inp] = shape;
    if (inp !== 2 * out) throw new Error(`deepen: '${name}' is [${shape}]; an inserted up resnet reads [hidden ${out} | skip ${out}]`);
    const w = zeros(shape);
    for (let c = 0; c < out; c++) (w.data as Float32Array)[c * inp + c] = 1;
    return w;
  }
  if (origin.part === 'resnet' && /\.conv_shortcut\.bias$/.test(name)) return zeros(shape);
  return undefined;
}

function zeros(shape: readonly number[]): HostTensor {
  return { dtype: 'float32', shape: [...shape], data: new Float32Array(shape.reduce((a, b) => a * b, 1)) };
}
