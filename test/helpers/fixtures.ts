/** Locates the shared golden fixtures (../shared/fixtures beside the checkout, or DETEX_FIXTURES). */
import * as fs from 'fs';
import * as path from 'path';

const repoRoot = path.resolve(__dirname, '..', '..', '..'); // dist/test/helpers → repo

export function fixturesDir(): string | undefined {
  const candidates = [process.env.DETEX_FIXTURES, path.join(repoRoot, '..', 'shared', 'fixtures')].filter(Boolean) as string[];
  return candidates.find((c) => fs.existsSync(path.join(c, 'README.md')));
}

/** The path of one fixture folder, or undefined after printing why tests using it are skipped. */
export function fixture(name: string): string | undefined {
  const dir = fixturesDir();
  if (!dir || !fs.existsSync(path.join(dir, name))) {
    console.log(`    (skipped: fixture folder "${name}" not found; set DETEX_FIXTURES or place ../shared/fixtures)`);
    return undefined;
  }
  return path.join(dir, name);
}

export function repoPath(...parts: string[]): string {
  return path.join(repoRoot, ...parts);
}
