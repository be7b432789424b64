import * as fs from 'fs';
import * as path from 'path';

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
 * The embedded default model: `models/` of the package if it is a diffusers folder itself
 * (model_index.json), else its first sub-folder that is one. The one place that knows this.
 */
export function defaultModelFolder(): string {
  const base = path.join(packageRoot(), 'models');
  if (fs.existsSync(path.join(base, 'model_index.json'))) return base;
  if (fs.existsSync(base)) {
    for (const e of fs.readdirSync(base, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.isDirectory() && fs.existsSync(path.join(base, e.name, 'model_index.json'))) return path.join(base, e.name);
    }
  }
  return base;
}

export function modelFolderFrom(configured: unknown): string {
  return typeof configured === 'string' && configured.trim() !== '' ? path.resolve(configured.trim()) : defaultModelFolder();
}
