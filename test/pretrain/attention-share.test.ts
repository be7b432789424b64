import * as assert from 'assert';
import * as path from 'path';
import { readComponentConfig } from '../../lib/io/diffusers-folder';
import { defaultModelDir } from '../../lib/models/default-model';
import { UNet2DConditionModel } from '../../lib/models/unet/unet';
import { AutoencoderKL } from '../../lib/models/vae/autoencoder-kl';
import { TOKEN_KINDS, attentionShares, tokenKinds } from '../../lib/pretrain/attention-share';
import { TextConditioner } from '../../lib/pretrain/text-cond';
import { DDIMScheduler } from '../../lib/schedulers/ddim';
import { expectNoLeak } from '../helpers/leak';

const ROOT = path.resolve(__dirname, '..', '..', '..');

describe('pretrain/attention-share (where the UNet looks)', function () {
  this.timeout(60000);
  const dir = defaultModelDir();
  let text: TextConditioner;
  before(() => {
    text = TextConditioner.load(dir, path.join(ROOT, 'models', 'detex-tiny', 'tokenizer'));
  });
  after(() => text.dispose());

  it('labels every position of a caption: start, words, end, padding', () => {
    const [k] = tokenKinds(text, ['a photo of a red striped ball with tilted pose in grass background']);
    assert.strictEqual(k.length, 77);
    assert.strictEqual(k[0], 'start');
    const words = k.slice(1, k.indexOf('end'));
    assert.deepStrictEqual(words.filter((w) => w !== 'other'), ['colour', 'pattern', 'class']);
    assert.ok(words.indexOf('colour') === 4, `colour at word 5, got ${words.join(' ')}`);
    assert.ok(k.slice(k.indexOf('end') + 1).every((w) => w === 'padding'));
  });

  it("splits each layer's attention on the subject over the token kinds (shares sum to 1), leak-free", async () => {
    const unet = UNet2DConditionModel.load(path.join(dir, 'unet'));
    const vae = AutoencoderKL.load(path.join(dir, 'vae'));
    const scheduler = DDIMScheduler.fromConfig(readComponentConfig(path.join(dir, 'scheduler')));
    try {
      await expectNoLeak(() => {
        const shares = attentionShares({ unet, vae, text, scheduler }, { n: 2, t: 500 });
        // one entry per attn2 layer: cross-attention down blocks × layers, the mid block, up blocks × (layers + 1)
        const c = readComponentConfig(path.join(dir, 'unet')) as { down_block_types: string[]; up_block_types: string[]; layers_per_block: number };
        const cross = (types: string[]) => types.filter((b) => b.startsWith('CrossAttn')).length;
        assert.strictEqual(shares.length, cross(c.down_block_types) * c.layers_per_block + 1 + cross(c.up_block_types) * (c.layers_per_block + 1));
        for (const l of shares) {
          const sum = TOKEN_KINDS.reduce((a, k) => a + l.share[k], 0);
          assert.ok(Math.abs(sum - 1) < 1e-3, `${l.layer}: shares sum to ${sum}`);
          assert.ok(TOKEN_KINDS.every((k) => l.share[k] >= 0));
        }
      });
    } finally {
      unet.dispose();
      vae.dispose();
    }
  });
});
