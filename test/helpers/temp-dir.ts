/**
 * Temporary folders for tests. Tests make their folders with `tempDir(prefix)`: registered, removed by
 * `removeTempDir`, by `tempDirs()`' hooks, or at the latest by the root after-all hook below (this module is loaded
 * by .mocharc.json's `require`, so its `mochaHooks` serve the whole run).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const registered = new Set<string>();

/** Makes `os.tmpdir()/<prefix>XXXXXX` (prefix like 'detex-st-'), removed at the latest when the run ends. */
export function tempDir(prefix: string): string {
  if (!prefix.startsWith('detex-')) throw new Error(`tempDir: prefix "${prefix}" should start with "detex-"`);
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  registered.add(d);
  return d;
}

/** Removes a folder made by `tempDir` (and whatever is in it) now. */
export function removeTempDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  registered.delete(dir);
}

/**
 * For a describe block: a maker of temp folders that are removed after each of the block's tests (`per: 'test'`,
 * for folders made inside `it`) or after the block (`per: 'suite'`). Call it in the describe body.
 */
export function tempDirs(per: 'test' | 'suite' = 'test'): (prefix: string) => string {
  const made: string[] = [];
  (per === 'test' ? afterEach : after)(() => made.splice(0).forEach(removeTempDir));
  return (prefix) => {
    const d = tempDir(prefix);
    made.push(d);
    return d;
  };
}

export const mochaHooks = {
  afterAll(): void {
    for (const d of [...registered]) removeTempDir(d);
  },
};
