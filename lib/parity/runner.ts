/** What a component provides to run fixture cases. */
import { HostTensor } from '../io/host-tensor';
import { Manifest, ManifestCase } from './manifest';
import { TensorCheck } from './compare';

export interface RunContext {
  /** the fixture folder (holds manifest.json) */
  dir: string;
  manifest: Manifest;
  kase: ManifestCase;
  /** reads a tensor of the case file (inputs, expected or intermediates) */
  tensor(name: string): HostTensor;
}

export interface RunOutput {
  /** outputs by the manifest's expected names, PyTorch layout; compared by the engine */
  outputs?: Map<string, HostTensor>;
  /** checks the runner did itself (e.g. tokenizer goldens); reported like tensor checks */
  checks?: TensorCheck[];
}

export interface CaseRunner {
  name: string;
  matches(manifest: Manifest, kase: ManifestCase): boolean;
  run(ctx: RunContext): Promise<RunOutput>;
  /** manifests without a `cases` list (e.g. the tokenizer's goldens) can be expanded into cases */
  expand?(manifest: Manifest, dir: string): ManifestCase[] | undefined;
}
