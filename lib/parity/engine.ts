/**
 * `detex parity <fixture-dir>`: runs every case of a fixture folder whose component this package
 * implements, compares with the manifest's tolerances, and reports one line per case and a total.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { SafetensorsReader } from '../io/safetensors';
import { HostTensor } from '../io/host-tensor';
import { readManifest, Manifest, ManifestCase } from './manifest';
import { compareTensor, TensorCheck } from './compare';
import { CaseRunner } from './runner';

export interface CaseResult {
  fixture: string;
  name: string;
  runner?: string;
  status: 'pass' | 'fail' | 'skip';
  checks: TensorCheck[];
  error?: string;
  ms: number;
}

export interface ParityReport {
  results: CaseResult[];
  passed: number;
  failed: number;
  skipped: number;
}

/** Fixture folders under `dir`: itself if it holds manifest.json, else its children that do. */
export function findFixtureDirs(dir: string): string[] {
  if (fs.existsSync(path.join(dir, 'manifest.json'))) return [dir];
  if (!fs.existsSync(dir)) throw new Error(`${dir}: no such folder`);
  const subs = fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && fs.existsSync(path.join(dir, e.name, 'manifest.json')))
    .map((e) => path.join(dir, e.name))
    .sort();
  if (!subs.length) throw new Error(`${dir}: no manifest.json here or in its sub-folders`);
  return subs;
}

function caseFileReader(dir: string, kase: ManifestCase): { tensor: (n: string) => HostTensor; close: () => void } {
  let reader: SafetensorsReader | undefined;
  const file = kase.file && kase.file.endsWith('.safetensors') ? path.join(dir, kase.file) : undefined;
  return {
    tensor(name: string) {
      if (!file) throw new Error(`case "${kase.name}" has no tensor file`);
      reader ??= SafetensorsReader.open(file);
      return reader.read(name);
    },
    close: () => reader?.close(),
  };
}

async function runCase(dir: string, manifest: Manifest, kase: ManifestCase, runners: CaseRunner[]): Promise<CaseResult> {
  const start = Date.now();
  const base = { fixture: manifest.fixture, name: kase.name };
  const runner = runners.find((r) => r.matches(manifest, kase));
  if (!runner) {
    return { ...base, status: 'skip', checks: [], error: `no runner for component "${kase.component ?? manifest.fixture}"`, ms: 0 };
  }
  const io = caseFileReader(dir, kase);
  const numTensors = tf.memory().numTensors;
  try {
    const out = await runner.run({ dir, manifest, kase, tensor: io.tensor });
    const checks: TensorCheck[] = [...(out.checks ?? [])];
    for (const [name, spec] of Object.entries(kase.expected ?? {})) {
      if (out.checks?.some((c) => c.name === name)) continue;
      if (!out.outputs?.has(name) && out.checks?.length) continue;
      checks.push(compareTensor(name, out.outputs?.get(name), io.tensor(name), spec));
    }
    const leaked = tf.memory().numTensors - numTensors;
    if (leaked > 0) checks.push({ name: 'tensor leak', pass: false, maxAbsErr: leaked, tolerance: '0 tensors', detail: `${leaked} tensors left` });
    if (!checks.length) return { ...base, runner: runner.name, status: 'fail', checks, error: 'runner produced nothing to compare', ms: Date.now() - start };
    return { ...base, runner: runner.name, status: checks.every((c) => c.pass) ? 'pass' : 'fail', checks, ms: Date.now() - start };
  } catch (e) {
    return { ...base, runner: runner.name, status: 'fail', checks: [], error: (e as Error).message, ms: Date.now() - start };
  } finally {
    io.close();
  }
}

export async function runParity(
  dir: string,
  runners: CaseRunner[],
  onResult: (r: CaseResult) => void = () => {},
  filter?: (fixture: string, caseName: string) => boolean,
): Promise<ParityReport> {
  const results: CaseResult[] = [];
  for (const fdir of findFixtureDirs(dir)) {
    const manifest = readManifest(fdir);
    let cases = manifest.cases;
    if (!cases) {
      for (const r of runners) {
        cases = r.expand?.(manifest, fdir);
        if (cases) break;
      }
    }
    for (const kase of cases ?? []) {
      if (filter && !filter(manifest.fixture, kase.name)) continue;
      const r = await runCase(fdir, manifest, kase, runners);
      results.push(r);
      onResult(r);
    }
  }
  const count = (s: CaseResult['status']) => results.filter((r) => r.status === s).length;
  return { results, passed: count('pass'), failed: count('fail'), skipped: count('skip') };
}

export function formatResult(r: CaseResult): string[] {
  const head = `${r.status.toUpperCase().padEnd(4)} ${r.fixture}/${r.name}${r.runner ? ` [${r.runner}]` : ''} (${r.ms} ms)`;
  const lines = [r.error ? `${head}: ${r.error}` : head];
  for (const c of r.checks) {
    const err = Number.isNaN(c.maxAbsErr) ? '-' : c.maxAbsErr.toExponential(2);
    lines.push(`     ${c.pass ? 'ok  ' : 'FAIL'} ${c.name}: max abs err ${err}, tolerance ${c.tolerance}${c.detail ? ` — ${c.detail}` : ''}`);
  }
  return lines;
}
