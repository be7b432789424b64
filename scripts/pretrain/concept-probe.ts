/**
 * How far a model's text encoder carries the differences between trained DETEX concepts (lib/pretrain/concept-spread.ts):
 * the concepts' [V] (and [B_1]) vectors in one prompt, the relative spread of the states, per class word.
 *
 *   DETEX_BACKEND=cpu node dist/scripts/pretrain/concept-probe.js --model DIR --concepts DIR[,DIR…] [--class cup,ball]
 *
 * --concepts: folders of concept files (`detex-eval.js --work` leaves one per subject; `*.ckpt.safetensors`, the
 * training checkpoints, are skipped). The concepts need not have been trained on this model: putting one model's
 * concepts through another's encoder separates the encoder from the vectors.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import { initBackend } from '../../lib/backend';
import { loadDetexModels } from '../../lib/detex/load-models';
import { conceptVocabulary, loadConcept } from '../../lib/detex/concept';
import { conceptSpread } from '../../lib/pretrain/concept-spread';

const TEMPLATES = ['a photo of a {{V}} {{class}} in sand background', 'a photo of a {{V}} {{class}} in {{B.1}} background'];

async function main(): Promise<void> {
  const { values: a } = parseArgs({ options: { model: { type: 'string' }, concepts: { type: 'string' }, class: { type: 'string' } } });
  if (!a.model || !a.concepts) throw new Error('usage: concept-probe.js --model DIR --concepts DIR[,DIR…] [--class cup,ball]');
  const files = a.concepts.split(',').flatMap((d) => {
    if (!fs.existsSync(d)) throw new Error(`--concepts: no folder ${d}`);
    return fs.readdirSync(d).filter((f) => f.endsWith('.safetensors') && !f.endsWith('.ckpt.safetensors')).sort().map((f) => path.join(d, f));
  });
  if (files.length < 2) throw new Error(`--concepts: found ${files.length} concept file(s) in ${a.concepts}; the spread needs at least 2`);
  await initBackend();
  const models = await loadDetexModels(path.resolve(a.model), null);
  try {
    const concepts = files.map((f) => conceptVocabulary(loadConcept(f)));
    console.log(`${a.model}: ${concepts.length} concepts (${files.map((f) => path.basename(f, '.safetensors')).join(', ')})`);
    for (const template of TEMPLATES) {
      for (const cls of (a.class ?? 'cup,ball').split(',')) {
        const s = conceptSpread(models.tokenizer, models.textEncoder, concepts, template, cls);
        console.log(`${template.replace('{{class}}', cls)}: ${s.toFixed(3)}`);
      }
    }
  } finally {
    models.dispose();
  }
}

main().catch((e) => {
  console.error(`concept-probe: ${(e as Error).message}`);
  process.exitCode = 1;
});
