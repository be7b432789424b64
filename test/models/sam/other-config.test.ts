import * as assert from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { hostTensor } from '../../../lib/io/host-tensor';
import { ParamStore } from '../../../lib/nn';
import { seededInitializer } from '../../../lib/nn/init';
import { samConfigFrom } from '../../../lib/models/sam/config';
import { Sam } from '../../../lib/models/sam/sam';
import { SamPredictor } from '../../../lib/models/sam/predictor';
import { expectNoLeak } from '../../helpers/leak';

/**
 * Sizes differ from sam-tiny in every dimension a port could hard-code: grid 12 with window 5 (padded to
 * 15), 4 heads, two global blocks, prompt_embed_dim 16, 2 multimask outputs, one two-way block.
 */
const CONFIG = {
  image_size: 96,
  vit_patch_size: 8,
  encoder_embed_dim: 24,
  encoder_depth: 3,
  encoder_num_heads: 4,
  encoder_global_attn_indexes: [0, 2],
  window_size: 5,
  encoder_mlp_ratio: 2.0,
  prompt_embed_dim: 16,
  mask_in_chans: 8,
  num_multimask_outputs: 2,
  transformer_depth: 1,
  transformer_mlp_dim: 20,
  transformer_num_heads: 2,
  iou_head_depth: 2,
  iou_head_hidden_dim: 12,
};

describe('models/sam with another config (seeded weights; shapes and names built from the config)', function () {
  it('should take rel_pos tables sized by window (2·5−1) or grid (2·12−1) per block', async () => {
    await expectNoLeak(() => {
      const store = ParamStore.initializing(seededInitializer(7));
      const sam = new Sam(store, samConfigFrom(CONFIG));
      assert.deepStrictEqual(store.toHost('image_encoder.blocks.0.attn.rel_pos_h').shape, [23, 6]);
      assert.deepStrictEqual(store.toHost('image_encoder.blocks.1.attn.rel_pos_w').shape, [9, 6]);
      assert.deepStrictEqual(store.toHost('image_encoder.pos_embed').shape, [1, 12, 12, 24]);
      assert.deepStrictEqual(store.toHost('mask_decoder.mask_tokens.weight').shape, [3, 16]);
      assert.deepStrictEqual(store.toHost('mask_decoder.output_upscaling.3.weight').shape, [4, 2, 2, 2]);
      assert.deepStrictEqual(store.toHost('mask_decoder.transformer.layers.0.cross_attn_token_to_image.q_proj.weight').shape, [8, 16]);
      assert.ok(!store.names().some((n) => n.includes('transformer.layers.1')));
      sam.dispose();
    });
  });

  it('should predict from a 70×50 RGB image: masks [2,70,50], low-res [2,48,48], iou [2]', async function () {
    this.timeout(60000);
    await expectNoLeak(() => {
      const sam = new Sam(ParamStore.initializing(seededInitializer(7)), samConfigFrom(CONFIG));
      const p = new SamPredictor(sam);
      const pixels = Uint8Array.from({ length: 70 * 50 * 3 }, (_, i) => (i * 37) % 256);
      p.setImage(hostTensor('uint8', [70, 50, 3], pixels));
      const out = p.predict({
        pointCoords: hostTensor('float32', [2, 2], Float32Array.from([10, 20, 30, 40])),
        pointLabels: hostTensor('int32', [2], Int32Array.from([1, 0])),
        box: hostTensor('float32', [4], Float32Array.from([5, 5, 40, 60])),
      });
      assert.deepStrictEqual(out.masks.shape, [2, 70, 50]);
      assert.deepStrictEqual(out.lowResMasks.shape, [2, 48, 48]);
      assert.deepStrictEqual(out.iouPredictions.shape, [2]);
      assert.ok(Array.from(out.lowResMasks.data).every(Number.isFinite));
      const single = p.predict({ box: hostTensor('float32', [1, 4], Float32Array.from([5, 5, 40, 60])), multimaskOutput: false, returnLogits: true });
      assert.deepStrictEqual(single.masks.shape, [1, 70, 50]);
      assert.strictEqual(single.masks.dtype, 'float32');
      p.dispose();
      sam.dispose();
    });
  });
});
