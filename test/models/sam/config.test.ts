import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { SAM_DEFAULTS, samConfigFrom, samPreset } from '../../../lib/models/sam/config';
import { SamFixture } from './sam-fixture';

describe('models/sam/config', () => {
  it('should give the official encoders for vit_b / vit_l / vit_h', () => {
    assert.deepStrictEqual(samPreset('vit_b').encoder_global_attn_indexes, [2, 5, 8, 11]);
    const l = samPreset('vit_l');
    assert.deepStrictEqual([l.encoder_embed_dim, l.encoder_depth, l.encoder_num_heads], [1024, 24, 16]);
    const h = samPreset('vit_h');
    assert.deepStrictEqual([h.encoder_embed_dim, h.encoder_depth, h.encoder_num_heads, h.encoder_global_attn_indexes], [1280, 32, 16, [7, 15, 23, 31]]);
    assert.strictEqual(h.image_size, 1024);
    assert.strictEqual(h.prompt_embed_dim, 256);
    assert.throws(() => samPreset('vit_x'), /unknown SAM preset "vit_x"/);
  });

  it('should fill missing keys with build_sam defaults and warn on unknown keys (not on _comments)', () => {
    const warnings: string[] = [];
    const cfg = samConfigFrom({ encoder_depth: 3, _comment: 'x', colour: 'red' }, (m) => warnings.push(m));
    assert.strictEqual(cfg.encoder_depth, 3);
    assert.strictEqual(cfg.window_size, SAM_DEFAULTS.window_size);
    assert.deepStrictEqual(warnings, ['SAM config: unknown key "colour" is ignored']);
  });

  it('should throw on inconsistent values, naming the key', () => {
    assert.throws(() => samConfigFrom({ image_size: 100 }), /image_size 100 is not a multiple of vit_patch_size 16/);
    assert.throws(() => samConfigFrom({ encoder_embed_dim: 30, encoder_num_heads: 4 }), /encoder_embed_dim 30 does not split into 4 heads/);
    assert.throws(() => samConfigFrom({ image_format: 'RGBA' }), /image_format must be "RGB" or "BGR"/);
    assert.throws(() => samConfigFrom({ prompt_embed_dim: 36 }), /prompt_embed_dim must be a multiple of 8/);
  });

  const fx = SamFixture.open();
  if (!fx) return;
  it('should read the fixture config.json without warnings', () => {
    const warnings: string[] = [];
    const cfg = samConfigFrom(JSON.parse(fs.readFileSync(path.join(fx.dir, 'config.json'), 'utf8')), (m) => warnings.push(m));
    assert.deepStrictEqual(warnings, []);
    assert.strictEqual(cfg.window_size, 3);
    assert.deepStrictEqual(cfg.encoder_global_attn_indexes, [1]);
  });
});
