/**
 * `unet/config.json` of a diffusers UNet2DConditionModel (v0.27.2 keys, spelled as the file spells them),
 * its defaults, and its resolution into per-block lists the blocks are built from.
 *
 * Defaults are diffusers' `UNet2DConditionModel.__init__` defaults, so configs written by older diffusers
 * versions (the real SD v1.4/v1.5 ones lack many keys) load as diffusers loads them. Unknown keys are
 * reported through `warn` and ignored; values we do not implement throw a `UNetConfigError` naming the key.
 */

export class UNetConfigError extends Error {}

/** The config file as written (every key optional: missing keys take diffusers' defaults). */
export interface UNetConfig {
  sample_size?: number | number[] | null;
  in_channels?: number;
  out_channels?: number;
  center_input_sample?: boolean;
  flip_sin_to_cos?: boolean;
  freq_shift?: number;
  down_block_types?: string[];
  mid_block_type?: string | null;
  up_block_types?: string[];
  only_cross_attention?: boolean | boolean[];
  block_out_channels?: number[];
  layers_per_block?: number | number[];
  downsample_padding?: number;
  mid_block_scale_factor?: number;
  dropout?: number;
  act_fn?: string;
  norm_num_groups?: number | null;
  norm_eps?: number;
  cross_attention_dim?: number | number[];
  transformer_layers_per_block?: number | Array<number | number[]>;
  reverse_transformer_layers_per_block?: Array<number | number[]> | null;
  encoder_hid_dim?: number | null;
  encoder_hid_dim_type?: string | null;
  attention_head_dim?: number | number[];
  num_attention_heads?: number | number[] | null;
  dual_cross_attention?: boolean;
  use_linear_projection?: boolean;
  class_embed_type?: string | null;
  addition_embed_type?: string | null;
  addition_time_embed_dim?: number | null;
  num_class_embeds?: number | null;
  upcast_attention?: boolean;
  resnet_time_scale_shift?: string;
  resnet_skip_time_act?: boolean;
  resnet_out_scale_factor?: number;
  time_embedding_type?: string;
  time_embedding_dim?: number | null;
  time_embedding_act_fn?: string | null;
  timestep_post_act?: string | null;
  time_cond_proj_dim?: number | null;
  conv_in_kernel?: number;
  conv_out_kernel?: number;
  projection_class_embeddings_input_dim?: number | null;
  attention_type?: string;
  class_embeddings_concat?: boolean;
  mid_block_only_cross_attention?: boolean | null;
  cross_attention_norm?: string | null;
  addition_embed_type_num_heads?: number;
}

/** diffusers v0.27.2 defaults (`UNet2DConditionModel.__init__` signature). */
export const UNET_CONFIG_DEFAULTS: Required<UNetConfig> = {
  sample_size: null,
  in_channels: 4,
  out_channels: 4,
  center_input_sample: false,
  flip_sin_to_cos: true,
  freq_shift: 0,
  down_block_types: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
  mid_block_type: 'UNetMidBlock2DCrossAttn',
  up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
  only_cross_attention: false,
  block_out_channels: [320, 640, 1280, 1280],
  layers_per_block: 2,
  downsample_padding: 1,
  mid_block_scale_factor: 1,
  dropout: 0.0,
  act_fn: 'silu',
  norm_num_groups: 32,
  norm_eps: 1e-5,
  cross_attention_dim: 1280,
  transformer_layers_per_block: 1,
  reverse_transformer_layers_per_block: null,
  encoder_hid_dim: null,
  encoder_hid_dim_type: null,
  attention_head_dim: 8,
  num_attention_heads: null,
  dual_cross_attention: false,
  use_linear_projection: false,
  class_embed_type: null,
  addition_embed_type: null,
  addition_time_embed_dim: null,
  num_class_embeds: null,
  upcast_attention: false,
  resnet_time_scale_shift: 'default',
  resnet_skip_time_act: false,
  resnet_out_scale_factor: 1.0,
  time_embedding_type: 'positional',
  time_embedding_dim: null,
  time_embedding_act_fn: null,
  timestep_post_act: null,
  time_cond_proj_dim: null,
  conv_in_kernel: 3,
  conv_out_kernel: 3,
  projection_class_embeddings_input_dim: null,
  attention_type: 'default',
  class_embeddings_concat: false,
  mid_block_only_cross_attention: null,
  cross_attention_norm: null,
  addition_embed_type_num_heads: 64,
};

export type DownBlockType = 'CrossAttnDownBlock2D' | 'DownBlock2D';
export type UpBlockType = 'CrossAttnUpBlock2D' | 'UpBlock2D';
const DOWN_TYPES: readonly string[] = ['CrossAttnDownBlock2D', 'DownBlock2D'];
const UP_TYPES: readonly string[] = ['CrossAttnUpBlock2D', 'UpBlock2D'];
const MID_TYPES: readonly string[] = ['UNetMidBlock2DCrossAttn'];

/** What one down or up block is built from (the arguments diffusers' get_down_block / get_up_block receive). */
export interface BlockSpec {
  type: DownBlockType | UpBlockType;
  /** resnets in the block (layers_per_block, +1 for up blocks) */
  numLayers: number;
  /** Transformer2DModel depth after each resnet (length numLayers) */
  transformerLayers: number[];
  inChannels: number;
  outChannels: number;
  /** up blocks: channels coming from the block below */
  prevOutputChannels: number;
  heads: number;
  crossAttentionDim: number;
  onlyCrossAttention: boolean;
  /** down blocks: a stride-2 conv at the end; up blocks: a nearest ×2 upsample + conv at the end */
  resample: boolean;
}

export interface MidBlockSpec {
  channels: number;
  heads: number;
  crossAttentionDim: number;
  transformerLayers: number;
  outputScaleFactor: number;
}

/** Everything the model needs, with defaults filled and per-block values expanded. */
export interface ResolvedUNetConfig {
  raw: Required<UNetConfig>;
  inChannels: number;
  outChannels: number;
  blockOutChannels: number[];
  centerInputSample: boolean;
  flipSinToCos: boolean;
  freqShift: number;
  timeEmbedDim: number;
  timeEmbeddingActFn: string | null;
  timestepPostAct: string | null;
  actFn: string;
  normGroups: number;
  normEps: number;
  useLinearProjection: boolean;
  downsamplePadding: number;
  convInKernel: number;
  convOutKernel: number;
  down: BlockSpec[];
  mid: MidBlockSpec | null;
  up: BlockSpec[];
}

export interface ResolveOptions {
  /** receives one message per ignored key; console.warn by default */
  warn?: (message: string) => void;
}

function fail(message: string): never {
  throw new UNetConfigError(`UNet config: ${message}`);
}

function perBlock<T>(key: string, value: T | T[], n: number): T[] {
  if (!Array.isArray(value)) return Array.from({ length: n }, () => value);
  if (value.length !== n) {
    fail(`${key} has ${value.length} entries but down_block_types has ${n} (${JSON.stringify(value)})`);
  }
  return [...value];
}

function positiveInt(key: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) fail(`${key} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

function expandLayers(key: string, v: number | number[], numLayers: number): number[] {
  if (Array.isArray(v)) {
    if (v.length !== numLayers) fail(`${key} entry ${JSON.stringify(v)} must list ${numLayers} transformer depths`);
    return v.map((x) => positiveInt(key, x));
  }
  return Array.from({ length: numLayers }, () => positiveInt(key, v));
}

/** Throws on every setting this port does not implement, naming the key and the supported values. */
function rejectUnsupported(c: Required<UNetConfig>): void {
  const mustBe = (key: keyof UNetConfig, ok: boolean, what: string) => {
    if (!ok) fail(`${key} = ${JSON.stringify(c[key])} is not supported (only ${what})`);
  };
  mustBe('dual_cross_attention', c.dual_cross_attention === false, 'false');
  mustBe('class_embed_type', c.class_embed_type === null, 'null');
  mustBe('num_class_embeds', c.num_class_embeds === null, 'null');
  mustBe('addition_embed_type', c.addition_embed_type === null, 'null');
  mustBe('encoder_hid_dim', c.encoder_hid_dim === null, 'null');
  mustBe('encoder_hid_dim_type', c.encoder_hid_dim_type === null, 'null');
  mustBe('time_cond_proj_dim', c.time_cond_proj_dim === null, 'null');
  mustBe('time_embedding_type', c.time_embedding_type === 'positional', '"positional"');
  mustBe('attention_type', c.attention_type === 'default', '"default"');
  mustBe('cross_attention_norm', c.cross_attention_norm === null, 'null');
  mustBe('resnet_time_scale_shift', c.resnet_time_scale_shift === 'default', '"default"');
  mustBe('class_embeddings_concat', c.class_embeddings_concat === false, 'false');
  mustBe('norm_num_groups', typeof c.norm_num_groups === 'number', 'an integer');
  mustBe('mid_block_type', c.mid_block_type === null || MID_TYPES.includes(c.mid_block_type), `null or ${MID_TYPES.join(', ')}`);
  for (const t of c.down_block_types) if (!DOWN_TYPES.includes(t)) fail(`down_block_types entry "${t}" is not supported (only ${DOWN_TYPES.join(', ')})`);
  for (const t of c.up_block_types) if (!UP_TYPES.includes(t)) fail(`up_block_types entry "${t}" is not supported (only ${UP_TYPES.join(', ')})`);
}

/**
 * Fills defaults, validates, and expands a config into block specs, following the arithmetic of diffusers'
 * `UNet2DConditionModel.__init__` (v0.27.2).
 */
export function resolveUNetConfig(config: UNetConfig, opts: ResolveOptions = {}): ResolvedUNetConfig {
  const warn = opts.warn ?? ((m: string) => console.warn(m));
  if (config === null || typeof config !== 'object' || Array.isArray(config)) fail('config must be a JSON object');
  for (const key of Object.keys(config)) {
    if (!key.startsWith('_') && !(key in UNET_CONFIG_DEFAULTS)) warn(`UNet config: unknown key "${key}" is ignored`);
  }
  const c = { ...UNET_CONFIG_DEFAULTS } as Required<UNetConfig>;
  for (const [k, v] of Object.entries(config)) {
    if (k in UNET_CONFIG_DEFAULTS && v !== undefined) (c as unknown as Record<string, unknown>)[k] = v;
  }
  rejectUnsupported(c);
  if (c.dropout !== 0) warn(`UNet config: dropout ${c.dropout} is not applied (this port has no dropout; SD uses 0)`);

  const n = c.down_block_types.length;
  if (n === 0) fail('down_block_types is empty');
  if (c.up_block_types.length !== n) {
    fail(`down_block_types (${n}) and up_block_types (${c.up_block_types.length}) must have the same length`);
  }
  if (c.block_out_channels.length !== n) {
    fail(`block_out_channels has ${c.block_out_channels.length} entries but down_block_types has ${n}`);
  }
  const channels = c.block_out_channels.map((v) => positiveInt('block_out_channels', v));
  const groups = positiveInt('norm_num_groups', c.norm_num_groups);
  for (const ch of channels) {
    if (ch % groups !== 0) fail(`block_out_channels entry ${ch} is not divisible by norm_num_groups ${groups}`);
  }

  // In diffusers' configs `attention_head_dim` is the number of heads (a historical misnomer): diffusers
  // takes `num_attention_heads or attention_head_dim`. (diffusers 0.27.2 itself refuses a non-null
  // num_attention_heads; we accept it with the meaning its name says.)
  const headsSource = c.num_attention_heads ?? c.attention_head_dim;
  const headsKey = c.num_attention_heads !== null ? 'num_attention_heads' : 'attention_head_dim';
  const heads = perBlock(headsKey, headsSource as number | number[], n).map((h) => positiveInt(headsKey, h));
  const crossDims = perBlock('cross_attention_dim', c.cross_attention_dim, n).map((v) => positiveInt('cross_attention_dim', v));
  const onlyCross = perBlock('only_cross_attention', c.only_cross_attention, n);
  const layers = perBlock('layers_per_block', c.layers_per_block, n).map((v) => positiveInt('layers_per_block', v));
  const tlpb = perBlock('transformer_layers_per_block', c.transformer_layers_per_block, n);
  const asymmetric = tlpb.some((v) => Array.isArray(v));
  if (asymmetric && c.reverse_transformer_layers_per_block === null) {
    fail('transformer_layers_per_block lists per-layer depths, so reverse_transformer_layers_per_block must be given');
  }
  const reverseTlpb =
    c.reverse_transformer_layers_per_block === null
      ? [...tlpb].reverse()
      : perBlock('reverse_transformer_layers_per_block', c.reverse_transformer_layers_per_block, n);

  const down: BlockSpec[] = [];
  for (let i = 0; i < n; i++) {
    down.push({
      type: c.down_block_types[i] as DownBlockType,
      numLayers: layers[i],
      transformerLayers: expandLayers('transformer_layers_per_block', tlpb[i], layers[i]),
      inChannels: i === 0 ? channels[0] : channels[i - 1],
      outChannels: channels[i],
      prevOutputChannels: 0,
      heads: heads[i],
      crossAttentionDim: crossDims[i],
      onlyCrossAttention: onlyCross[i],
      resample: i !== n - 1,
    });
  }

  const lastTlpb = tlpb[n - 1];
  const mid: MidBlockSpec | null =
    c.mid_block_type === null
      ? null
      : {
          channels: channels[n - 1],
          heads: heads[n - 1],
          crossAttentionDim: crossDims[n - 1],
          transformerLayers: positiveInt('transformer_layers_per_block', Array.isArray(lastTlpb) ? lastTlpb[0] : lastTlpb),
          outputScaleFactor: c.mid_block_scale_factor,
        };

  const rChannels = [...channels].reverse();
  const rHeads = [...heads].reverse();
  const rLayers = [...layers].reverse();
  const rCross = [...crossDims].reverse();
  const rOnly = [...onlyCross].reverse();
  const up: BlockSpec[] = [];
  for (let i = 0; i < n; i++) {
    up.push({
      type: c.up_block_types[i] as UpBlockType,
      numLayers: rLayers[i] + 1,
      transformerLayers: expandLayers('reverse_transformer_layers_per_block', reverseTlpb[i], rLayers[i] + 1),
      inChannels: rChannels[Math.min(i + 1, n - 1)],
      outChannels: rChannels[i],
      prevOutputChannels: i === 0 ? rChannels[0] : rChannels[i - 1],
      heads: rHeads[i],
      crossAttentionDim: rCross[i],
      onlyCrossAttention: rOnly[i],
      resample: i !== n - 1,
    });
  }

  const convInKernel = positiveInt('conv_in_kernel', c.conv_in_kernel);
  const convOutKernel = positiveInt('conv_out_kernel', c.conv_out_kernel);
  if (convInKernel % 2 === 0) fail(`conv_in_kernel ${convInKernel} must be odd (the padding keeps the size)`);
  if (convOutKernel % 2 === 0) fail(`conv_out_kernel ${convOutKernel} must be odd (the padding keeps the size)`);
  if (c.flip_sin_to_cos !== true && c.flip_sin_to_cos !== false) fail('flip_sin_to_cos must be a boolean');

  return {
    raw: c,
    inChannels: positiveInt('in_channels', c.in_channels),
    outChannels: positiveInt('out_channels', c.out_channels),
    blockOutChannels: channels,
    centerInputSample: c.center_input_sample,
    flipSinToCos: c.flip_sin_to_cos,
    freqShift: c.freq_shift,
    timeEmbedDim: c.time_embedding_dim === null ? channels[0] * 4 : positiveInt('time_embedding_dim', c.time_embedding_dim),
    timeEmbeddingActFn: c.time_embedding_act_fn,
    timestepPostAct: c.timestep_post_act,
    actFn: c.act_fn,
    normGroups: groups,
    normEps: c.norm_eps,
    useLinearProjection: c.use_linear_projection,
    downsamplePadding: c.downsample_padding,
    convInKernel,
    convOutKernel,
    down,
    mid,
    up,
  };
}
