import * as fs from 'fs';
import * as path from 'path';
import { defaultModelDir, resolveModelDir } from '../../lib/models/default-model';

/** The package root (…/node-red-contrib-detex), from dist/nodes/shared or nodes/shared. */
export function packageRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  return path.resolve(__dirname, '..', '..', '..');
}

/**
 * The embedded default model, as lib decides it (lib/models/default-model): the nodes, the CLI and the demo
 * always agree on which folder an empty model setting means.
 */
export function defaultModelFolder(): string {
  return defaultModelDir();
}

export function modelFolderFrom(configured: unknown): string {
  return resolveModelDir(typeof configured === 'string' ? configured : undefined);
}
