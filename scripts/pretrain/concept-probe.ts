/**
 * How far a model's text encoder carries the differences between trained DETEX concepts (lib/pretrain/concept-spread.ts):
 * the concepts' [V] (and [B_1]) vectors in one prompt, the relative spread of the states, per class word.
 *
 *   DETEX_BACKEND=cpu node dist/scripts/pretrain/concept-probe.js --model DIR --concepts DIR[,DIR…] [--class cup,ball]
 *   DETEX_BACKEND=cpu node dist/scripts/pretrain/concept-probe.js --model DIR --random N
 *
 * --concepts: folders of concept files (`detex-eval.js --work` leaves one per subject; `*.ckpt.safetensors`, the
 * training checkpoints, are skipped). The concepts need not have been trained on this model: putting one model's
 * concepts through another's encoder separates the encoder from the vectors.
 * --random N: instead, the mean spread of `--concept-keep`'s random concepts over its groups of steps 0…N−1
 * (lib/pretrain/concept-keeper.ts, the training run's seed), [V] and [B_1] apart: what that keeper holds.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import { initBackend } from '../../lib/backend';
import { loadDetexModels } from '../../lib/detex/load-models';
import { conceptVocabulary, loadConcept } from '../../lib/detex/concept';
import { conceptSpread } from '../../lib/pretrain/concept-spread';
import { conceptKeeperGroups, initialiserRow } from '../../lib/pretrain/concept-keeper';
import { UNET_SEED } from './unet-config';

const TEMPLATES = ['a photo of a {{V}} {{class}} in sand background', 'a photo of a {{V}} {{class}} in {{B.1}} background'];

async function main(): Promise<void> {
  const { values: a } = parseArgs({ options: { model: { type: 'string' }, concepts: { type: 'string' }, class: { type: 'string' }, random: { type: 'string' } } });
  const usage = 'usage: concept-probe.js --model DIR (--concepts DIR[,DIR…] [--class cup,ball] | --random N)';
  if (!a.model) throw new Error(usage);
  if (a.random !== undefined) return randomProbe(a.model, a.random);
  if (!a.concepts) throw new Error(usage);
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

/** `--random N`: the keeper's groups for steps 0…N−1 through this model's encoder. */
async function randomProbe(model: string, count: string): Promise<void> {
  const steps = Number(count);
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`--random: a number of steps ≥ 1, got '${count}'`);
  await initBackend();
  const models = await loadDetexModels(path.resolve(model), null);
  try {
    const e = { tokenizer: models.tokenizer, encoder: models.textEncoder };
    const init = initialiserRow(e);
    const sums = { V: 0, B: 0 };
    for (let step = 0; step < steps; step++) {
      for (const g of conceptKeeperGroups(step, init, UNET_SEED)) sums[g.name] += conceptSpread(e.tokenizer, e.encoder, g.concepts, g.template);
    }
    console.log(`${model}: random concepts of steps 0–${steps - 1}, mean spread [V] ${(sums.V / steps).toFixed(3)}, [B_1] ${(sums.B / steps).toFixed(3)}`);
  } finally {
    models.dispose();
  }
}

main().catch((e) => {
  console.error(`concept-probe: ${(e as Error).message}`);
  process.exitCode = 1;
});
