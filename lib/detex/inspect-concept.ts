/**
 * What a trained concept holds, read against its base model: the vocabulary words nearest each learned
 * embedding ([V], every [P_i] and [B_i]) by cosine in the text encoder's token-embedding table, and how far each
 * fine-tuned K/V projection moved from the base weights. Why: a [V] that learnt the subject's colour sits near
 * that colour's word (detex-mini's blue cup: `blue` first, cosine 0.37–0.56), one that learnt something else does
 * not — the read-out that showed why a UNet personalised worse (TRAINING.md, run 11), without sampling an image.
 */
import * as fs from 'fs';
import * as path from 'path';
import { componentDir, weightFiles } from '../io/diffusers-folder';
import { SafetensorsReader } from '../io/safetensors';
import { DetexConcept } from './concept';

const TOKEN_EMBEDDING = 'text_model.embeddings.token_embedding.weight';

export interface NearestWord {
  word: string;
  cosine: number;
}

export interface ConceptReport {
  subject: { token: string; norm: number; nearest: NearestWord[] };
  pose: Array<{ token: string; norm: number; nearest: NearestWord[] }>;
  background: Array<{ token: string; norm: number; nearest: NearestWord[] }>;
  /** UNet parameter name → ‖trained − base‖ / ‖base‖ */
  kvDrift: Array<{ name: string; relative: number }>;
  /** candidate words left out because the tokenizer splits them into pieces */
  notWholeWords: string[];
}

/** The k rows of `table` ([rows, width], row-major) nearest `v` by cosine, named by `words` (null rows skipped). */
export function nearestWords(v: Float32Array, table: Float32Array, words: ReadonlyArray<string | null>, k: number): NearestWord[] {
  const width = v.length;
  if (table.length !== words.length * width) {
    throw new Error(`nearestWords: a table of ${table.length} numbers is not ${words.length} rows of width ${width}`);
  }
  const vn = Math.hypot(...v) || 1;
  const best: NearestWord[] = [];
  for (let r = 0; r < words.length; r++) {
    const word = words[r];
    if (word === null) continue;
    let dot = 0;
    let nn = 0;
    for (let j = 0; j < width; j++) {
      const x = table[r * width + j];
      dot += x * v[j];
      nn += x * x;
    }
    const cosine = dot / (vn * (Math.sqrt(nn) || 1));
    if (best.length < k || cosine > best[best.length - 1].cosine) {
      best.push({ word, cosine });
      best.sort((a, b) => b.cosine - a.cosine);
      if (best.length > k) best.pop();
    }
  }
  return best;
}

/**
 * Whole words of a CLIP BPE vocabulary (`vocab.json`: token → id), by id; sub-word pieces and non-letters are
 * null, since a learned embedding read as "nearest to `ing`" says nothing.
 */
export function wholeWords(vocab: Record<string, number>, rows: number): Array<string | null> {
  const words: Array<string | null> = new Array(rows).fill(null);
  for (const [token, id] of Object.entries(vocab)) {
    if (id < rows && token.endsWith('</w>') && /^[a-z]{2,}<\/w>$/.test(token)) words[id] = token.slice(0, -4);
  }
  return words;
}

/** The named weights of one component, each weight file opened once (SD v1's K/V are 32 tensors of one 3.4 GB file). */
function readWeights(dir: string, names: readonly string[]): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const file of weightFiles(dir)) {
    const r = SafetensorsReader.open(file);
    try {
      for (const name of names) if (!out.has(name) && r.has(name)) out.set(name, r.read(name).data as Float32Array);
    } finally {
      r.close();
    }
  }
  const missing = names.find((name) => !out.has(name));
  if (missing !== undefined) throw new Error(`${dir}: no weight "${missing}" (is this the concept's base model?)`);
  return out;
}

/**
 * Reads the concept against the diffusers folder `modelDir` (text_encoder/, tokenizer/, unet/). `onlyWords` limits
 * the candidates (e.g. a small model's training vocabulary: its other rows were never trained and rank by chance).
 */
export function inspectConcept(concept: DetexConcept, modelDir: string, top = 5, onlyWords?: readonly string[]): ConceptReport {
  const tokenizerVocab = path.join(componentDir(modelDir, 'tokenizer'), 'vocab.json');
  const vocab = JSON.parse(fs.readFileSync(tokenizerVocab, 'utf8')) as Record<string, number>;
  const table = readWeights(componentDir(modelDir, 'text_encoder'), [TOKEN_EMBEDDING]).get(TOKEN_EMBEDDING)!;
  const width = concept.subject.length;
  if (table.length % width !== 0) {
    throw new Error(`${modelDir}: the token embeddings (${table.length} numbers) are not rows of the concept's width ${width}`);
  }
  let words = wholeWords(vocab, table.length / width);
  let notWholeWords: string[] = [];
  if (onlyWords) {
    notWholeWords = onlyWords.filter((w) => !words.includes(w));
    if (notWholeWords.length === onlyWords.length) throw new Error(`${tokenizerVocab}: none of ${onlyWords.join(', ')} is a whole word of this vocabulary`);
    words = words.map((w) => (w !== null && onlyWords.includes(w) ? w : null));
  }
  const read = (token: string, v: Float32Array) => ({ token, norm: Math.hypot(...v), nearest: nearestWords(v, table, words, top) });
  const baseKv = readWeights(componentDir(modelDir, 'unet'), [...concept.kv.keys()]);
  // kvStorage 'delta' keeps trained − base; 'weights' keeps the trained weight
  const isDelta = concept.meta.kvStorage === 'delta';
  const kvDrift = [...concept.kv].map(([name, trained]) => {
    const base = baseKv.get(name)!;
    const t = trained.data as Float32Array;
    if (t.length !== base.length) throw new Error(`${name}: the concept holds ${t.length} numbers, the base model ${base.length}`);
    let d = 0;
    let b = 0;
    for (let i = 0; i < t.length; i++) {
      const diff = isDelta ? t[i] : t[i] - base[i];
      d += diff * diff;
      b += base[i] * base[i];
    }
    return { name, relative: Math.sqrt(d) / (Math.sqrt(b) || 1) };
  });
  return {
    subject: read(concept.meta.tokens.subject, concept.subject),
    pose: concept.meta.tokens.pose.map((t, i) => read(t, concept.pose[i])),
    background: concept.meta.tokens.background.map((t, i) => read(t, concept.background[i])),
    kvDrift,
    notWholeWords,
  };
}

/** The report as lines for a terminal. */
export function formatConceptReport(r: ConceptReport): string[] {
  const words = (n: NearestWord[]) => n.map((w) => `${w.word} ${w.cosine.toFixed(2)}`).join(', ');
  const lines = r.notWholeWords.length > 0 ? [`(not whole words of the vocabulary, left out: ${r.notWholeWords.join(', ')})`] : [];
  lines.push(`${r.subject.token} (norm ${r.subject.norm.toFixed(3)}): ${words(r.subject.nearest)}`);
  for (const x of [...r.pose, ...r.background]) lines.push(`${x.token} (norm ${x.norm.toFixed(3)}): ${words(x.nearest)}`);
  const rel = r.kvDrift.map((k) => k.relative);
  if (rel.length > 0) {
    const mean = rel.reduce((a, b) => a + b, 0) / rel.length;
    lines.push(`K/V moved from the base: mean ${(100 * mean).toFixed(2)} %, max ${(100 * Math.max(...rel)).toFixed(2)} % over ${rel.length} projections`);
  }
  return lines;
}
