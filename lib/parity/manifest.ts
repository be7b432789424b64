/** The fixtures' manifest.json format (see ../shared/fixtures/README.md). */
import * as fs from 'fs';
import * as path from 'path';

export interface ManifestTensor {
  shape: number[];
  dtype: string;
  layout?: string;
  atol?: number;
  rtol?: number;
  compare?: 'exact' | string;
  allowed_mismatches?: number;
  values?: unknown;
  [key: string]: unknown;
}

export interface ManifestCase {
  name: string;
  file?: string;
  component?: string;
  kind?: string;
  call?: string;
  description?: string;
  args?: Record<string, unknown>;
  inputs?: Record<string, ManifestTensor>;
  expected?: Record<string, ManifestTensor>;
  intermediates?: Record<string, ManifestTensor>;
  [key: string]: unknown;
}

export interface Manifest {
  fixture: string;
  cases?: ManifestCase[];
  config?: Record<string, unknown>;
  [key: string]: unknown;
}

export function readManifest(dir: string): Manifest {
  const file = path.join(dir, 'manifest.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof m.fixture !== 'string') throw new Error(`${file}: missing "fixture" name`);
  if (m.cases !== undefined && !Array.isArray(m.cases)) throw new Error(`${file}: "cases" must be a list`);
  return m;
}
