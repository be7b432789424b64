/**
 * Resumability: each (method, subject, seed) cell's result is one JSON file, written atomically when the cell is
 * complete, under `<out>/cells/`. Its `key` hashes everything that decides the result (settings, model files), so
 * a changed setting recomputes the cell instead of reusing a stale one. A killed run also keeps the concept and
 * its training checkpoint (train(..., resume)), so a half-trained cell continues where it stopped.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { OracleResult } from './oracle';

export interface PromptRecord {
  id: string;
  kind: string;
  template: string;
  /** as sampled (pseudo-words as token strings) */
  prompt: string;
  /** what CLIP-T scores against */
  plain: string;
  sampleSeed: number;
  /** relative to the output folder */
  images: string[];
  scores: Record<string, number | null>;
  oracle: OracleResult[];
}

export interface CellRecord {
  version: 1;
  key: string;
  method: string;
  subject: string;
  seed: number;
  train: { steps: number; seconds: number; loss: number | null; concept: string };
  sampleSeconds: number;
  scoreSeconds: number;
  prompts: PromptRecord[];
  /** the cell's mean per metric over prompts (and images) */
  scores: Record<string, number | null>;
}

export function hashKey(parts: unknown): string {
  return crypto.createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

/** Sizes and mtimes of a model folder's weight files: a cheap identity that changes when weights do. */
export function modelStamp(folder: string): string {
  const rows: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(safetensors|json)$/.test(e.name)) {
        const st = fs.statSync(p);
        rows.push(`${path.relative(folder, p)}:${st.size}:${Math.round(st.mtimeMs)}`);
      }
    }
  };
  walk(folder);
  return hashKey(rows);
}

export function cellPath(out: string, method: string, subject: string, seed: number): string {
  return path.join(out, 'cells', method, `${subject}-s${seed}.json`);
}

export function readCell(file: string, key: string): CellRecord | undefined {
  if (!fs.existsSync(file)) return undefined;
  try {
    const c = JSON.parse(fs.readFileSync(file, 'utf8')) as CellRecord;
    return c.version === 1 && c.key === key ? c : undefined;
  } catch {
    return undefined; // a torn or foreign file: recompute
  }
}

export function writeJsonAtomic(file: string, data: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(data, null, 2));
  fs.renameSync(tmp, file);
}
