/**
 * Where the UNet of a model folder looks (lib/pretrain/attention-share.ts): per attn2 layer, the share of the
 * subject's cross-attention on the pattern, colour and class words, the other words, the padding and the start and
 * end tokens.
 *
 *   DETEX_BACKEND=cpu node dist/scripts/pretrain/attention-share.js [--model models/detex-mini] [--n 16] [--t 500]
 */
import * as path from 'path';
import { parseArgs } from 'util';
import { initBackend } from '../../lib/backend';
import { UNet2DConditionModel } from '../../lib/models/unet/unet';
import { AutoencoderKL } from '../../lib/models/vae/autoencoder-kl';
import { DDIMScheduler } from '../../lib/schedulers/ddim';
import { readComponentConfig } from '../../lib/io/diffusers-folder';
import { TextConditioner } from '../../lib/pretrain/text-cond';
import { TOKEN_KINDS, attentionShares } from '../../lib/pretrain/attention-share';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { model: { type: 'string' }, n: { type: 'string' }, t: { type: 'string' } } });
  const root = path.resolve(__dirname, '..', '..', '..');
  const model = path.resolve(values.model ?? path.join(root, 'models', 'detex-mini'));
  const n = Number(values.n ?? 16);
  const t = Number(values.t ?? 500);
  if (!(Number.isInteger(n) && n > 0)) throw new Error(`attention-share: --n must be a positive integer, got '${values.n}'`);
  if (!(Number.isInteger(t) && t >= 0 && t < 1000)) throw new Error(`attention-share: --t must be an integer timestep in 0..999, got '${values.t}'`);
  await initBackend();
  const unet = UNet2DConditionModel.load(path.join(model, 'unet'));
  const vae = AutoencoderKL.load(path.join(model, 'vae'));
  const text = TextConditioner.load(model, path.join(root, 'models', 'detex-tiny', 'tokenizer'));
  const scheduler = DDIMScheduler.fromConfig(readComponentConfig(path.join(model, 'scheduler')));
  try {
    console.log(`model ${model}: share of the subject's cross-attention at t = ${t}, ${n} patterned train renders`);
    console.log(['layer', 'map', ...TOKEN_KINDS].join('\t'));
    for (const l of attentionShares({ unet, vae, text, scheduler }, { n, t })) {
      console.log([l.layer, `${l.size}×${l.size}`, ...TOKEN_KINDS.map((k) => l.share[k].toFixed(3))].join('\t'));
    }
  } finally {
    unet.dispose();
    vae.dispose();
    text.dispose();
  }
}

main().catch((e: Error) => {
  console.error(`attention-share: ${e.message}`);
  process.exit(1);
});
