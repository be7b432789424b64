/** Shared access to the sam-tiny fixture for the SAM tests: cases, manifest specs, tolerance checks. */
import * as assert from 'assert';
import * as path from 'path';
import { HostTensor } from '../../../lib/io/host-tensor';
import { readSafetensors } from '../../../lib/io/safetensors';
import { compareTensor } from '../../../lib/parity/compare';
import { Manifest, ManifestCase, ManifestTensor, readManifest } from '../../../lib/parity/manifest';
import { fixture } from '../../helpers/fixtures';

export interface SamCase {
  kase: ManifestCase;
  tensors: Map<string, HostTensor>;
  get(name: string): HostTensor;
}

export class SamFixture {
  readonly manifest: Manifest;
  private readonly cache = new Map<string, SamCase>();

  constructor(readonly dir: string) {
    this.manifest = readManifest(dir);
  }

  /** The fixture, or undefined after printing why (tests then skip). */
  static open(): SamFixture | undefined {
    const dir = fixture('sam-tiny');
    return dir ? new SamFixture(dir) : undefined;
  }

  get cases(): ManifestCase[] {
    return this.manifest.cases ?? [];
  }

  case(name: string): SamCase {
    let c = this.cache.get(name);
    if (!c) {
      const kase = this.cases.find((k) => k.name === name);
      if (!kase || !kase.file) throw new Error(`sam-tiny has no case "${name}"`);
      const tensors = readSafetensors(path.join(this.dir, kase.file)).tensors;
      c = {
        kase,
        tensors,
        get: (n: string) => {
          const t = tensors.get(n);
          if (!t) throw new Error(`case ${name} has no tensor "${n}"`);
          return t;
        },
      };
      this.cache.set(name, c);
    }
    return c;
  }

  /** Cases whose inputs include image_embeddings: the prompt cases. */
  promptCaseNames(): string[] {
    return this.cases.filter((k) => k.inputs && 'image_embeddings' in k.inputs).map((k) => k.name);
  }
}

/** Asserts the manifest's pass rule for one tensor and returns the max abs error. */
export function assertMatches(name: string, actual: HostTensor, expected: HostTensor, spec: ManifestTensor | undefined): number {
  assert.ok(spec, `no manifest spec for ${name}`);
  const check = compareTensor(name, actual, expected, spec);
  assert.ok(check.pass, `${name}: max abs err ${check.maxAbsErr}, tolerance ${check.tolerance}${check.detail ? ` — ${check.detail}` : ''}`);
  return check.maxAbsErr;
}
