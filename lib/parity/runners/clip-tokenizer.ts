/**
 * Parity runner for CLIP tokenizer folders with a `goldens.json` (the `clip-tokenizer` fixture): every golden
 * prompt becomes a case; ids are compared exactly (padded input_ids, attention_mask, untruncated ids), and the
 * added-token goldens run on a tokenizer after `addTokens` of the golden's tokens.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CLIPTokenizer } from '../../models/clip/tokenizer';
import { TensorCheck } from '../compare';
import { Manifest, ManifestCase } from '../manifest';
import { CaseRunner } from '../runner';

interface GoldenCase {
  prompt: string;
  category?: string;
  input_ids: number[];
  attention_mask: number[];
  ids_untruncated?: number[];
}
interface Goldens {
  format?: string;
  cases: GoldenCase[];
  added_tokens?: { tokens: Array<{ token: string; id: number }>; return_value?: number; len_tokenizer_after?: number; cases: GoldenCase[] };
}

const COMPONENT = 'clip-tokenizer';

function goldensOf(dir: string): Goldens | undefined {
  const file = path.join(dir, 'goldens.json');
  if (!fs.existsSync(file) || !fs.existsSync(path.join(dir, 'vocab.json'))) return undefined;
  const g = JSON.parse(fs.readFileSync(file, 'utf8')) as Goldens;
  return Array.isArray(g.cases) ? g : undefined;
}

/** Tokenizers by folder (plain data, no tensors, so caching them across cases is safe). */
const cache = new Map<string, { plain: CLIPTokenizer; added?: CLIPTokenizer; addedCount?: number }>();

function tokenizersFor(dir: string, g: Goldens) {
  let entry = cache.get(dir);
  if (!entry) {
    entry = { plain: CLIPTokenizer.fromFolder(dir) };
    if (g.added_tokens) {
      entry.added = CLIPTokenizer.fromFolder(dir);
      entry.addedCount = entry.added.addTokens(g.added_tokens.tokens.map((t) => t.token));
    }
    cache.set(dir, entry);
  }
  return entry;
}

function exactCheck(name: string, actual: readonly number[], expected: readonly number[]): TensorCheck {
  const same = actual.length === expected.length && actual.every((v, i) => v === expected[i]);
  let firstBad = -1;
  if (!same) firstBad = expected.findIndex((v, i) => actual[i] !== v);
  return {
    name,
    pass: same,
    maxAbsErr: same ? 0 : NaN,
    tolerance: 'exact',
    detail: same ? undefined : `length ${actual.length} vs ${expected.length}, first difference at ${firstBad < 0 ? expected.length : firstBad}: ${actual[firstBad]} vs ${expected[firstBad]}`,
  };
}

export const runner: CaseRunner = {
  name: COMPONENT,
  matches: (_m, kase) => kase.component === COMPONENT,
  expand(_manifest: Manifest, dir: string): ManifestCase[] | undefined {
    const g = goldensOf(dir);
    if (!g) return undefined;
    const slug = (p: string) => p.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '').slice(0, 32);
    const cases: ManifestCase[] = g.cases.map((c, i) => ({
      name: `${String(i).padStart(2, '0')}_${c.category ?? 'case'}_${slug(c.prompt)}`,
      component: COMPONENT,
      args: { index: i, added: false },
    }));
    (g.added_tokens?.cases ?? []).forEach((c, i) =>
      cases.push({ name: `added_${String(i).padStart(2, '0')}_${slug(c.prompt)}`, component: COMPONENT, args: { index: i, added: true } }),
    );
    return cases;
  },
  async run(ctx) {
    const g = goldensOf(ctx.dir);
    if (!g) throw new Error(`${ctx.dir}: no goldens.json with vocab.json beside it`);
    const { index, added } = ctx.kase.args as { index: number; added: boolean };
    const toks = tokenizersFor(ctx.dir, g);
    const golden = added ? g.added_tokens!.cases[index] : g.cases[index];
    const tok = added ? toks.added! : toks.plain;
    const out = tok.call(golden.prompt);
    const checks: TensorCheck[] = [
      exactCheck('input_ids', out.inputIds[0], golden.input_ids),
      exactCheck('attention_mask', out.attentionMask[0], golden.attention_mask),
    ];
    if (golden.ids_untruncated) checks.push(exactCheck('ids_untruncated', tok.encode(golden.prompt), golden.ids_untruncated));
    if (added && g.added_tokens) {
      const at = g.added_tokens;
      if (at.return_value !== undefined) checks.push(exactCheck('add_tokens_return', [toks.addedCount ?? -1], [at.return_value]));
      checks.push(exactCheck('added_token_ids', at.tokens.map((t) => tok.tokenToId(t.token)), at.tokens.map((t) => t.id)));
      if (at.len_tokenizer_after !== undefined) checks.push(exactCheck('len_tokenizer', [tok.length], [at.len_tokenizer_after]));
    }
    return { checks };
  },
};
