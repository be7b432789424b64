/**
 * Which word [V]'s initialiser picks from each held-out subject's photos (lib/detex/init-word.ts), against the
 * subject's body colour: how often a label-free initialiser names the subject.
 *
 *   DETEX_BACKEND=cpu node dist/scripts/pretrain/init-word-probe.js [--model models/detex-mini] [--subjects 0,1,…]
 *     [--words red,orange,…]   (default: the world's colour words)   [--photos 4] [--seed 0]
 */
import * as path from 'path';
import { parseArgs } from 'util';
import { initBackend } from '../../lib/backend';
import { loadDetexModels } from '../../lib/detex/load-models';
import { chooseInitWordForPhotos } from '../../lib/detex/init-word-photos';
import { unitMask } from '../../lib/engine/train';
import { HELD_OUT, parseSubjectId } from '../../lib/world/catalogue';
import { COLOURS } from '../../lib/world/palette';
import { subjectPhotos } from '../../lib/world/render';

async function main(): Promise<void> {
  const root = path.resolve(__dirname, '..', '..', '..');
  const { values: a } = parseArgs({
    options: { model: { type: 'string' }, subjects: { type: 'string' }, words: { type: 'string' }, photos: { type: 'string' }, seed: { type: 'string' } },
  });
  const model = path.resolve(a.model ?? path.join(root, 'models', 'detex-mini'));
  const ids = a.subjects === undefined ? [...HELD_OUT] : a.subjects.split(',').map((x) => {
    const id = HELD_OUT[Number(x)];
    if (id === undefined) throw new Error(`--subjects: ${x} is not an index of the ${HELD_OUT.length} held-out subjects`);
    return id;
  });
  const words = a.words ? a.words.split(',').map((w) => w.trim()).filter(Boolean) : [...COLOURS];
  const photos = Number(a.photos ?? 4);
  const seed = Number(a.seed ?? 0);
  await initBackend();
  const m = await loadDetexModels(model, null);
  try {
    const size = (m.unet.config.raw.sample_size as number) * m.vae.scaleFactor;
    let named = 0;
    for (const id of ids) {
      const sub = parseSubjectId(id);
      const t0 = Date.now();
      const items = subjectPhotos(id, photos, seed, { size }).map((x) => ({ image: x.image, mask: unitMask(x.mask) }));
      const r = chooseInitWordForPhotos(m, items, words, sub.cls, seed);
      if (r.word === sub.colour) named++;
      const ranked = [...r.scores].sort((x, y) => x.loss - y.loss).slice(0, 4).map((s) => `${s.word} ${s.loss.toFixed(4)}`);
      console.log(`${id} (${sub.colour}): ${r.word}  [${ranked.join(', ')}]  ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    console.log(`${model}: the body colour named for ${named} of ${ids.length} subjects (${words.length} words, ${photos} photos, seed ${seed})`);
  } finally {
    m.dispose();
  }
}

main().catch((e: Error) => {
  console.error(`init-word-probe: ${e.stack ?? e.message}`);
  process.exit(1);
});
