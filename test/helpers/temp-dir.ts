/**
 * Temporary folders for tests, and the guard that the run leaves none behind.
 *
 * Loaded first by .mocharc.json (`require`), this module gives the whole run, and every process it starts (Node-RED
 * runtimes, Chromium, mosquitto, CLI children), one private temp folder: TMPDIR points at
 * `<system tmp>/detex-test-run-XXXXXX`, so `os.tmpdir()` is that folder from here on. Tests make their folders with
 * `tempDir(prefix)` (registered, removed by `removeTempDir`, by `tempDirs()`' hooks, or at the latest at the end of
 * the run). The root after-all hook then fails the run, naming them, if anything else is left in the private folder
 * (a bare `fs.mkdtempSync(path.join(os.tmpdir(), …))` never removed, a child's profile or socket folder), removes
 * it all, and removes the private folder. An aborted run removes it on exit. The private folder starts empty, so
 * "left at the end" is exactly "made by this run and not removed", even while other processes on the machine (a
 * benchmark, another checkout's tests) make and remove their own detex-* folders in the shared temp folder.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const savedTmpdirEnv = process.env.TMPDIR;
const systemTmp = os.tmpdir();
const runDir = fs.mkdtempSync(path.join(systemTmp, 'detex-test-run-'));
process.env.TMPDIR = runDir; // os.tmpdir() reads it on every call; child processes inherit it
process.on('exit', () => fs.rmSync(runDir, { recursive: true, force: true }));

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
    const left = fs.readdirSync(runDir).sort();
    for (const e of left) fs.rmSync(path.join(runDir, e), { recursive: true, force: true });
    fs.rmSync(runDir, { recursive: true, force: true });
    if (savedTmpdirEnv === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmpdirEnv;
    if (left.length) {
      throw new Error(
        `the run left ${left.length} entr${left.length === 1 ? 'y' : 'ies'} in the temp folder (now removed): ${left.join(', ')}; ` +
          'make test folders with tempDir() from test/helpers/temp-dir, and remove what child processes make when they stop',
      );
    }
  },
};
