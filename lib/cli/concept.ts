/** `detex concept`: what a trained concept file holds, read against its base model (lib/detex/inspect-concept). */
import { parseArgs } from 'util';
import { loadConcept } from '../detex/concept';
import { formatConceptReport, inspectConcept } from '../detex/inspect-concept';
import { resolveModelDir } from '../models/default-model';
import { commaList } from './comma-list';
import { worldVocabulary } from '../world';

export const usage = 'concept <file> [--model <sd-folder>] [--top 5] [--words red,blue,… | world]   the words nearest [V], [P_i], [B_i] and how far K/V moved';

export async function conceptCommand(argv: string[]): Promise<number> {
  const { values: a, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { model: { type: 'string' }, top: { type: 'string' }, words: { type: 'string' } } });
  if (positionals.length !== 1) {
    console.error(`detex concept: name one concept file\nusage: detex ${usage}`);
    return 2;
  }
  const top = Number(a.top ?? 5);
  if (!Number.isInteger(top) || top < 1) {
    console.error(`detex concept: --top must be a whole number ≥ 1, got '${a.top}'`);
    return 2;
  }
  const concept = loadConcept(positionals[0]);
  const model = resolveModelDir(a.model);
  const start = concept.meta.initWord ? `, [V] started from "${concept.meta.initWord}"` : '';
  console.log(`${positionals[0]}: class word "${concept.meta.classWord}", ${concept.meta.numImages} photos, ${concept.meta.steps} steps${start}; against ${model}`);
  for (const line of formatConceptReport(inspectConcept(concept, model, top, a.words === 'world' ? worldWords() : commaList(a.words)))) console.log(`  ${line}`);
  return 0;
}

/** Every word of the procedural world's captions: the only rows detex-mini's text encoder was trained on. */
function worldWords(): string[] {
  const v = worldVocabulary();
  const phrases = [...v.classes, ...v.colours, ...Object.values(v.patternWords), ...Object.values(v.backgroundWords), ...v.poseWords];
  return [...new Set(phrases.flatMap((p) => p.split(/\s+/)).filter((w) => /^[a-z]{2,}$/.test(w)))];
}
