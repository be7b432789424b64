/**
 * Pattern readability by subject size, on renders and after a VAE round trip (lib/pretrain/pattern-by-size.ts).
 *
 *   DETEX_BACKEND=cpu node dist/scripts/pretrain/pattern-by-size.js [--model models/detex-mini] [--n 384] [--bins 4] [--seed 9]
 *
 * Train-split renders; the model folder's `vae/` and `attribute_classifier/`.
 */
import * as path from 'path';
import { parseArgs } from 'util';
import { initBackend } from '../../lib/backend';
import { WorldAttributeClassifier } from '../../lib/metrics/world-attributes';
import { AutoencoderKL } from '../../lib/models/vae/autoencoder-kl';
import { vaeRoundTrip } from '../../lib/pretrain/classifier-eval';
import { patternBySize } from '../../lib/pretrain/pattern-by-size';
import { worldBatch } from '../../lib/pretrain/world-data';
import { Rng } from '../../lib/random';

async function main(): Promise<void> {
  const root = path.resolve(__dirname, '..', '..', '..');
  const { values } = parseArgs({ options: { model: { type: 'string' }, n: { type: 'string' }, bins: { type: 'string' }, seed: { type: 'string' } } });
  const model = path.resolve(values.model ?? path.join(root, 'models', 'detex-mini'));
  const n = Number(values.n ?? 384);
  const seed = Number(values.seed ?? 9);
  await initBackend();
  const vae = AutoencoderKL.load(path.join(model, 'vae'));
  const classifier = WorldAttributeClassifier.load(path.join(model, 'attribute_classifier'));
  try {
    const set = worldBatch(new Rng(seed).fork('size-probe'), { batch: n, size: 64 });
    const latentCell = (2 ** (vae.config.block_out_channels.length - 1)) ** 2;
    console.log(`${model}: pattern read by the attribute classifier on ${n} train renders (seed ${seed}), by subject area`);
    for (const b of patternBySize(classifier, set, (x) => vaeRoundTrip(vae, x, 16), Number(values.bins ?? 4))) {
      console.log(`  area ${b.minArea}–${b.maxArea} px (${Math.round(b.minArea / latentCell)}–${Math.round(b.maxArea / latentCell)} latent cells), n ${b.n}: render ${b.render.toFixed(2)}, VAE round trip ${b.roundTrip.toFixed(2)}`);
    }
  } finally {
    vae.dispose();
    classifier.dispose();
  }
}

main().catch((e: Error) => {
  console.error(`pattern-by-size: ${e.stack ?? e.message}`);
  process.exit(1);
});
