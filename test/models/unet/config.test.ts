/** resolveUNetConfig: diffusers' defaults, per-block expansion, and errors that name the key. */
import { strict as assert } from 'assert';
import { resolveUNetConfig, UNetConfig, UNetConfigError } from '../../../lib/models/unet/config';
import { UNet2DConditionModel } from '../../../lib/models/unet/unet';
import { ParamStore } from '../../../lib/nn/params';
import { randomUNetWeights } from './random-unet';

const tiny: UNetConfig = {
  block_out_channels: [8, 16],
  down_block_types: ['CrossAttnDownBlock2D', 'DownBlock2D'],
  up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D'],
  layers_per_block: 1,
  norm_num_groups: 4,
  attention_head_dim: 2,
  cross_attention_dim: 8,
};

describe('models/unet config', () => {
  it('should fill diffusers v0.27.2 defaults for an empty config (SD v1 layout: 4 blocks, 8 heads, 1280-d context)', () => {
    const c = resolveUNetConfig({}, { warn: () => assert.fail('no warning expected') });
    assert.deepEqual(c.blockOutChannels, [320, 640, 1280, 1280]);
    assert.deepEqual(c.down.map((b) => b.type), ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D']);
    assert.deepEqual(c.down.map((b) => b.heads), [8, 8, 8, 8]);
    assert.deepEqual(c.up.map((b) => b.numLayers), [3, 3, 3, 3]);
    assert.equal(c.timeEmbedDim, 1280);
    assert.equal(c.normGroups, 32);
    assert.equal(c.mid?.crossAttentionDim, 1280);
    assert.equal(c.useLinearProjection, false);
  });

  it('should read attention_head_dim as the number of heads, per block when a list (SD v2: [5, 10, 20, 20])', () => {
    const c = resolveUNetConfig({ attention_head_dim: [5, 10, 20, 20], use_linear_projection: true });
    assert.deepEqual(c.down.map((b) => b.heads), [5, 10, 20, 20]);
    assert.deepEqual(c.up.map((b) => b.heads), [20, 20, 10, 5], 'up blocks take the reversed list');
    assert.equal(c.mid?.heads, 20);
    assert.equal(c.useLinearProjection, true);
  });

  it('should give up blocks in/prev/out channels as diffusers does (block_out_channels [32, 64])', () => {
    const c = resolveUNetConfig({ ...tiny, block_out_channels: [32, 64], norm_num_groups: 8, layers_per_block: 2 });
    assert.deepEqual(
      c.up.map((b) => [b.prevOutputChannels, b.inChannels, b.outChannels, b.resample]),
      [
        [64, 32, 64, true],
        [64, 32, 32, false],
      ],
    );
  });

  it('should warn about unknown keys and ignore metadata keys', () => {
    const warnings: string[] = [];
    resolveUNetConfig({ ...tiny, _class_name: 'UNet2DConditionModel', made_up_key: 1 } as UNetConfig, { warn: (m) => warnings.push(m) });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /made_up_key/);
    resolveUNetConfig({ ...tiny, dropout: 0.1 }, { warn: (m) => warnings.push(m) });
    assert.match(warnings[1], /dropout 0\.1 is not applied/);
  });

  const rejects: Array<[string, Record<string, unknown>, RegExp]> = [
    ['dual_cross_attention true', { dual_cross_attention: true }, /dual_cross_attention = true is not supported/],
    ['class_embed_type "timestep"', { class_embed_type: 'timestep' }, /class_embed_type = "timestep" is not supported/],
    ['num_class_embeds 10', { num_class_embeds: 10 }, /num_class_embeds/],
    ['addition_embed_type "text_time"', { addition_embed_type: 'text_time' }, /addition_embed_type/],
    ['time_embedding_type "fourier"', { time_embedding_type: 'fourier' }, /time_embedding_type/],
    ['resnet_time_scale_shift "scale_shift"', { resnet_time_scale_shift: 'scale_shift' }, /resnet_time_scale_shift/],
    ['an unknown down block', { down_block_types: ['SimpleCrossAttnDownBlock2D', 'DownBlock2D'] }, /down_block_types entry "SimpleCrossAttnDownBlock2D"/],
    ['mid_block_type UNetMidBlock2DSimpleCrossAttn', { mid_block_type: 'UNetMidBlock2DSimpleCrossAttn' }, /mid_block_type/],
    ['3 up blocks for 2 down blocks', { up_block_types: ['UpBlock2D', 'UpBlock2D', 'CrossAttnUpBlock2D'] }, /same length/],
    ['block_out_channels of length 3', { block_out_channels: [8, 16, 16] }, /block_out_channels has 3 entries/],
    ['attention_head_dim list of length 3', { attention_head_dim: [2, 2, 2] }, /attention_head_dim has 3 entries/],
    ['channels not divisible by groups', { norm_num_groups: 3 }, /not divisible by norm_num_groups 3/],
    ['per-layer transformer depths without the reverse list', { transformer_layers_per_block: [[1], 1] }, /reverse_transformer_layers_per_block/],
    ['norm_num_groups null', { norm_num_groups: null }, /norm_num_groups/],
  ];
  for (const [what, patch, pattern] of rejects) {
    it(`should throw a UNetConfigError for ${what}`, () => {
      assert.throws(
        () => resolveUNetConfig({ ...tiny, ...patch } as UNetConfig, { warn: () => {} }),
        (e: Error) => e instanceof UNetConfigError && pattern.test(e.message),
      );
    });
  }

  it('should name a missing weight with its expected shape, and warn about unexpected ones', () => {
    const weights = randomUNetWeights(tiny, 1);
    const missing = new Map(weights);
    missing.delete('down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight');
    const store = ParamStore.fromHost(missing);
    assert.throws(
      () => UNet2DConditionModel.fromConfig(tiny, store, { warn: () => {} }),
      /missing parameter "down_blocks\.0\.attentions\.0\.transformer_blocks\.0\.attn2\.to_k\.weight" \(expected shape \[8,8\]\)/,
    );
    store.dispose();

    const extra = new Map(weights);
    extra.set('down_blocks.0.attentions.0.transformer_blocks.0.attn2.processor.extra', weights.get('conv_in.bias')!);
    const warnings: string[] = [];
    const model = UNet2DConditionModel.fromConfig(tiny, ParamStore.fromHost(extra), { warn: (m) => warnings.push(m) });
    model.dispose();
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /1 unexpected weight\(s\) ignored: .*processor\.extra/);
  });

  it('should name the parameter, expected and found shape when a weight has the wrong shape', () => {
    const weights = randomUNetWeights(tiny, 2);
    weights.set('conv_in.weight', randomUNetWeights({ ...tiny, in_channels: 3 }, 2).get('conv_in.weight')!);
    const store = ParamStore.fromHost(weights);
    assert.throws(() => UNet2DConditionModel.fromConfig(tiny, store), /parameter "conv_in\.weight": expected shape \[8,4,3,3\], found \[8,3,3,3\]/);
    store.dispose();
  });
});
