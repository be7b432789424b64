/**
 * A trained UNet2DConditionModel's weights, widened to a config whose block_out_channels are integer multiples of
 * the old ones (Net2WiderNet, Chen et al. 2016): the wider model starts from what the trained one knows instead of
 * from noise. Session 10's reason: pretraining checkpoints do not outlive a machine, so a wider UNet retrained from
 * scratch (hours) cannot be carried across sessions, while one widened from the shipped weights can be trained in one.
 *
 * Exact where every channel of a normalised group widens by the same factor, which holds for uniform widening. Two
 * things can only be approximated, and are listed in `approximations`: a GroupNorm over a skip concatenation whose
 * parts widen by different factors (its groups straddle the parts differently), and a resnet whose 1×1 shortcut the
 * wider config drops because its in and out widths become equal (the shortcut becomes an identity).
 */
import { HostTensor } from '../io/host-tensor';
import { Rng } from '../random';
import { ResolvedUNetConfig, UNetConfig, resolveUNetConfig } from '../models/unet/config';
import { Axis, IndexMap, axisSize, concat, fixed, remap, segmentMap, sinusoidMap, widened } from './widen-axes';

export interface WidenOptions {
  /** seeds the zero-sum noise that lets duplicated channels drift apart */
  seed?: number;
  /** std of that noise relative to each share (0.1 by default; 0 keeps replicas identical forever) */
  noise?: number;
}

export interface WidenedUNet {
  weights: Map<string, HostTensor>;
  /** where the wider model only approximates the old one (empty: it computes the same function) */
  approximations: string[];
}

/** Config keys that may differ between the trained and the wider model. */
const MAY_DIFFER = new Set(['block_out_channels', '_diffusers_version', '_name_or_path']);

export function widenUNet(oldConfig: UNetConfig, newConfig: UNetConfig, weights: Map<string, HostTensor>, opts: WidenOptions = {}): WidenedUNet {
  const oc = resolveUNetConfig(oldConfig, { warn: () => undefined });
  const nc = resolveUNetConfig(newConfig, { warn: () => undefined });
  checkWidenable(oc, nc);
  const w = new UNetWidener(oc, nc, weights, opts);
  w.run();
  const unused = [...weights.keys()].filter((k) => !w.read.has(k) && !w.dropped.has(k));
  if (unused.length) throw new Error(`widen: the trained weights hold ${unused.length} parameter(s) this config does not use, e.g. '${unused[0]}'`);
  return { weights: w.out, approximations: w.approximations };
}

function checkWidenable(oc: ResolvedUNetConfig, nc: ResolvedUNetConfig): void {
  for (const key of Object.keys(oc.raw) as Array<keyof UNetConfig>) {
    if (MAY_DIFFER.has(key)) continue;
    if (JSON.stringify(oc.raw[key]) !== JSON.stringify(nc.raw[key])) {
      throw new Error(`widen: only block_out_channels may change, but ${key} is ${JSON.stringify(oc.raw[key])} → ${JSON.stringify(nc.raw[key])}`);
    }
  }
  const o = oc.blockOutChannels;
  const n = nc.blockOutChannels;
  if (o.length !== n.length) throw new Error(`widen: block_out_channels [${o}] → [${n}] change the number of levels`);
  o.forEach((c, i) => {
    if (n[i] % c !== 0) throw new Error(`widen: block_out_channels[${i}] ${c} → ${n[i]} is not an integer multiple`);
  });
  if (oc.raw.time_embedding_type !== 'positional') throw new Error(`widen: time_embedding_type '${oc.raw.time_embedding_type}' (only 'positional')`);
  if (oc.raw.time_embedding_dim !== null) throw new Error('widen: an explicit time_embedding_dim is not supported (it is 4 × block_out_channels[0])');
  if (n[0] !== o[0] && oc.freqShift !== 0) {
    throw new Error(`widen: freq_shift ${oc.freqShift} spaces the timestep frequencies unevenly; widening block_out_channels[0] needs 0`);
  }
  if (oc.raw.class_embed_type !== null || oc.raw.addition_embed_type !== null) throw new Error('widen: class or addition embeddings are not supported');
}

class UNetWidener {
  readonly out = new Map<string, HostTensor>();
  readonly read = new Set<string>();
  readonly dropped = new Set<string>();
  readonly approximations: string[] = [];
  private readonly rng: Rng;
  private readonly noise: number;
  private readonly k: number[];

  constructor(private readonly oc: ResolvedUNetConfig, private readonly nc: ResolvedUNetConfig, private readonly weights: Map<string, HostTensor>, opts: WidenOptions) {
    this.rng = new Rng(opts.seed ?? 0).fork('widen');
    this.noise = opts.noise ?? 0.1;
    this.k = nc.blockOutChannels.map((c, i) => c / oc.blockOutChannels[i]);
  }

  private level(i: number): Axis {
    return widened(this.oc.blockOutChannels[i], this.k[i]);
  }

  run(): void {
    const oc = this.oc;
    const levels = oc.blockOutChannels.length;
    const temb = widened(oc.timeEmbedDim, this.k[0]);
    this.param('conv_in', this.level(0), fixed(oc.inChannels));
    this.linear('time_embedding.linear_1', segmentMap(temb), sinusoidMap(oc.blockOutChannels[0], this.k[0]));
    this.param('time_embedding.linear_2', temb, temb);

    const skips: Axis[] = [this.level(0)];
    oc.down.forEach((b, i) => {
      const lvl = this.level(i);
      for (let j = 0; j < b.numLayers; j++) {
        this.resnet(`down_blocks.${i}.resnets.${j}`, j === 0 ? this.level(Math.max(0, i - 1)) : lvl, lvl, temb);
        if (b.type === 'CrossAttnDownBlock2D') this.transformer(`down_blocks.${i}.attentions.${j}`, i, b.transformerLayers[j], b.crossAttentionDim);
        skips.push(lvl);
      }
      if (b.resample) {
        this.param(`down_blocks.${i}.downsamplers.0.conv`, lvl, lvl);
        skips.push(lvl);
      }
    });

    const top = levels - 1;
    if (oc.mid) {
      this.resnet('mid_block.resnets.0', this.level(top), this.level(top), temb);
      this.transformer('mid_block.attentions.0', top, oc.mid.transformerLayers, oc.mid.crossAttentionDim);
      this.resnet('mid_block.resnets.1', this.level(top), this.level(top), temb);
    }

    let prev = this.level(top);
    oc.up.forEach((b, i) => {
      const li = levels - 1 - i;
      const lvl = this.level(li);
      for (let j = 0; j < b.numLayers; j++) {
        const skip = skips.pop()!;
        this.resnet(`up_blocks.${i}.resnets.${j}`, concat(j === 0 ? prev : lvl, skip), lvl, temb);
        if (b.type === 'CrossAttnUpBlock2D') this.transformer(`up_blocks.${i}.attentions.${j}`, li, b.transformerLayers[j], b.crossAttentionDim);
      }
      if (b.resample) this.param(`up_blocks.${i}.upsamplers.0.conv`, lvl, lvl);
      prev = lvl;
    });

    this.norm('conv_norm_out', this.level(0));
    this.param('conv_out', fixed(oc.outChannels), this.level(0));
  }

  private resnet(prefix: string, input: Axis, output: Axis, temb: Axis): void {
    this.norm(`${prefix}.norm1`, input);
    this.param(`${prefix}.conv1`, output, input);
    this.param(`${prefix}.time_emb_proj`, output, temb);
    this.norm(`${prefix}.norm2`, output);
    this.param(`${prefix}.conv2`, output, output);
    const oldShortcut = axisSize(input, 'old') !== axisSize(output, 'old');
    const newShortcut = axisSize(input, 'new') !== axisSize(output, 'new');
    if (newShortcut) {
      if (oldShortcut) this.param(`${prefix}.conv_shortcut`, output, input);
      else this.identityShortcut(`${prefix}.conv_shortcut`, output, input);
    } else if (oldShortcut) {
      this.dropped.add(`${prefix}.conv_shortcut.weight`).add(`${prefix}.conv_shortcut.bias`);
      this.approximations.push(`${prefix}: the wider config has no conv_shortcut (in = out channels), so the trained 1×1 shortcut becomes an identity`);
    }
  }

  private transformer(prefix: string, level: number, depth: number, crossDim: number): void {
    const c = this.level(level);
    // the heads keep their number and grow in width, so q·k grows k-fold while √d_head grows √k-fold
    const qScale = 1 / Math.sqrt(this.k[level]);
    this.norm(`${prefix}.norm`, c);
    this.param(`${prefix}.proj_in`, c, c);
    for (let t = 0; t < depth; t++) {
      const b = `${prefix}.transformer_blocks.${t}`;
      for (const n of ['norm1', 'norm2', 'norm3']) this.norm(`${b}.${n}`, c);
      for (const [attn, kv] of [['attn1', c], ['attn2', fixed(crossDim)]] as const) {
        this.param(`${b}.${attn}.to_q`, c, c, qScale);
        this.param(`${b}.${attn}.to_k`, c, kv);
        this.param(`${b}.${attn}.to_v`, c, kv);
        this.param(`${b}.${attn}.to_out.0`, c, c);
      }
      // GEGLU: one projection to [hidden | gate], 4× the width each
      const ff = widened(4 * this.oc.blockOutChannels[level], this.k[level]);
      this.param(`${b}.ff.net.0.proj`, concat(ff, ff), c);
      this.param(`${b}.ff.net.2`, c, ff);
    }
    this.param(`${prefix}.proj_out`, c, c);
  }

  private norm(prefix: string, channels: Axis): void {
    const mixed = new Set(channels.map((s) => s.k)).size > 1;
    if (mixed && !this.groupsAlign(channels)) {
      this.approximations.push(`${prefix}: its groups span channels widened by different factors (${channels.map((s) => `${s.size}×${s.k}`).join(' + ')})`);
    }
    const m = segmentMap(channels);
    for (const suffix of ['weight', 'bias']) this.put(`${prefix}.${suffix}`, [m], -1);
  }

  /** Whether every new group holds the replicas of exactly one old group. */
  private groupsAlign(channels: Axis): boolean {
    const g = this.oc.normGroups;
    const m = segmentMap(channels);
    const oldPer = axisSize(channels, 'old') / g;
    const newPer = axisSize(channels, 'new') / g;
    for (let n = 0; n < m.src.length; n++) if (Math.floor(m.src[n] / oldPer) !== Math.floor(n / newPer)) return false;
    return true;
  }

  /** A Linear or Conv2d (weights [out, in, …]) with a bias when the trained model has one. */
  private param(prefix: string, output: Axis, input: Axis, scale = 1): void {
    this.linear(prefix, segmentMap(output), segmentMap(input), scale);
  }

  private linear(prefix: string, output: IndexMap, input: IndexMap, scale = 1): void {
    const w = this.weights.get(`${prefix}.weight`);
    if (!w) throw new Error(`widen: the trained weights have no '${prefix}.weight'`);
    const spatial = w.shape.slice(2).map((s) => segmentMap(fixed(s)));
    this.put(`${prefix}.weight`, [output, input, ...spatial], 1, scale);
    if (this.weights.has(`${prefix}.bias`)) this.put(`${prefix}.bias`, [output], -1, scale);
  }

  /** A trained model without a shortcut added its input unchanged: the wider one starts with that identity. */
  private identityShortcut(prefix: string, output: Axis, input: Axis): void {
    const n = axisSize(input, 'old');
    const eye = new Float32Array(n * n);
    for (let i = 0; i < n; i++) eye[i * n + i] = 1;
    const maps = [segmentMap(output), segmentMap(input), segmentMap(fixed(1)), segmentMap(fixed(1))];
    this.out.set(`${prefix}.weight`, remap({ dtype: 'float32', shape: [n, n, 1, 1], data: eye }, maps, { splitAxis: 1, noise: this.noise, rng: this.rng }));
    this.out.set(`${prefix}.bias`, { dtype: 'float32', shape: [axisSize(output, 'new')], data: new Float32Array(axisSize(output, 'new')) });
  }

  private put(name: string, maps: IndexMap[], splitAxis: number, scale = 1): void {
    const t = this.weights.get(name);
    if (!t) throw new Error(`widen: the trained weights have no '${name}'`);
    this.read.add(name);
    this.out.set(name, remap(t, maps, { splitAxis, noise: this.noise, rng: this.rng, scale }));
  }
}
