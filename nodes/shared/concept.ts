import { isArtifactRef } from '../../lib/tensor-msg';
import { NodeError } from './node-base';
import { resolveExisting } from './safe-path';

/** The file of a concept given as a ref from detex-train or as a file name, inside `folder`. */
export async function conceptPath(x: unknown, prop: string, folder: string): Promise<string> {
  if (isArtifactRef(x) && x.__detexRef === 'concept' && 'path' in x) return resolveExisting(folder, x.path);
  if (typeof x === 'string' && x.trim() !== '') return resolveExisting(folder, x.trim());
  throw new NodeError('common.errors.badConcept', { prop, got: x === undefined ? 'nothing' : JSON.stringify(x)?.slice(0, 60) });
}
