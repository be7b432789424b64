import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BenchCase, CASES, Prepared } from './cases';
import { writeInput } from './inputs';

/**
 * For the single-row tools (cpu-time, profile): the row named `match`, else the first whose name contains it,
 * prepared on its inputs written to a temporary folder; `use` runs on it, then the row is disposed and the
 * folder removed.
 */
export async function withRow<T>(match: string, use: (c: BenchCase, p: Prepared) => Promise<T>): Promise<T> {
  const c = CASES.find((x) => x.name === match) ?? CASES.find((x) => x.name.includes(match));
  if (!c) throw new Error(`no row matches "${match}"`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'detex-bench-row-'));
  try {
    for (const s of c.inputs) writeInput(dir, s.name, s.shape, s.seed, s.lo, s.hi);
    const p = await c.prepare(dir);
    try {
      return await use(c, p);
    } finally {
      p.dispose();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
