/**
 * File names arriving in msgs are resolved inside folders the user configured in the editor.
 * Rules: a non-empty relative path without NUL and without ".." segments; after resolving symbolic
 * links (realpath) the file, or for a new file its folder, is still inside the configured folder.
 * An absolute path is accepted only when it already names something inside the folder (a ref that
 * another of our nodes produced) and passes the same realpath check.
 */
import * as fs from 'fs';
import * as path from 'path';

export class PathError extends Error {
  constructor(readonly key: string, readonly subs: Record<string, unknown>) {
    super(`${key} ${JSON.stringify(subs)}`);
  }
}

function inside(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

function checkName(p: unknown): string {
  if (typeof p !== 'string' || p.length === 0 || p.includes('\0')) {
    throw new PathError('common.errors.badPath', { got: typeof p === 'string' ? JSON.stringify(p) : typeof p });
  }
  if (p.split(/[\\/]+/).includes('..')) throw new PathError('common.errors.dotdot', { path: p });
  return p;
}

async function realRoot(root: string): Promise<string> {
  await fs.promises.mkdir(root, { recursive: true });
  return fs.promises.realpath(root);
}

function lexical(rootReal: string, rootGiven: string, p: string): string {
  if (path.isAbsolute(p)) {
    const abs = path.resolve(p);
    if (!inside(rootReal, abs) && !inside(path.resolve(rootGiven), abs)) throw new PathError('common.errors.absolutePath', { path: p });
    return inside(rootReal, abs) ? abs : path.join(rootReal, path.relative(path.resolve(rootGiven), abs));
  }
  return path.resolve(rootReal, p);
}

/** The real path of an existing file named `p` inside `root`. */
export async function resolveExisting(root: string, p: unknown): Promise<string> {
  const name = checkName(p);
  const rootReal = await realRoot(root);
  const target = lexical(rootReal, root, name);
  let real: string;
  try {
    real = await fs.promises.realpath(target);
  } catch {
    throw new PathError('common.errors.notFound', { path: name });
  }
  if (!inside(rootReal, real)) throw new PathError('common.errors.escape', { path: name });
  return real;
}

/**
 * Where to write a file named `p` inside `root` (folders are created). An existing symbolic link at
 * the target is refused, so writing can never follow it out of the folder.
 */
export async function resolveForWrite(root: string, p: unknown): Promise<string> {
  const name = checkName(p);
  const rootReal = await realRoot(root);
  const target = lexical(rootReal, root, name);
  if (!inside(rootReal, target) || target === rootReal) throw new PathError('common.errors.escape', { path: name });
  const dir = path.dirname(target);
  await fs.promises.mkdir(dir, { recursive: true });
  const dirReal = await fs.promises.realpath(dir);
  if (!inside(rootReal, dirReal)) throw new PathError('common.errors.escape', { path: name });
  try {
    const st = await fs.promises.lstat(target);
    if (st.isSymbolicLink()) throw new PathError('common.errors.escape', { path: name });
  } catch (e) {
    if (e instanceof PathError) throw e;
  }
  return path.join(dirReal, path.basename(target));
}

/** Folder for a node: the configured one, or `<userDir>/detex/<sub>` when left empty. */
export function folderOrDefault(configured: unknown, userDir: string | undefined, sub: string): string {
  if (typeof configured === 'string' && configured.trim() !== '') {
    const c = configured.trim();
    return path.isAbsolute(c) ? c : path.resolve(userDir ?? process.cwd(), c);
  }
  return path.join(userDir ?? path.join(require('os').homedir(), '.node-red'), 'detex', sub);
}
