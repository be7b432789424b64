/**
 * Crash-safe file writes: a reader of `path` sees either the old file or the complete new one,
 * never a half-written file (a killed Node-RED or a full disk mid-write would otherwise leave a
 * truncated PNG or safetensors file that later fails to load with a confusing error).
 *
 * Method: write a temp file in the SAME folder (rename is only atomic within one filesystem),
 * fsync it so the data is on disk before the rename makes it visible, rename over the target,
 * then fsync the folder so the rename itself survives a power loss (best effort: not every
 * platform allows opening a directory). The temp file is removed on any failure.
 */
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';

/** A string (UTF-8), one typed array, or an iterable of chunks written in order (no concatenation). */
export type AtomicData = string | ArrayBufferView | Iterable<ArrayBufferView>;

function bytesOf(c: ArrayBufferView): Uint8Array {
  return new Uint8Array(c.buffer, c.byteOffset, c.byteLength);
}

function toChunks(data: AtomicData): Uint8Array[] {
  if (typeof data === 'string') return [Buffer.from(data, 'utf8')];
  if (ArrayBuffer.isView(data)) return [bytesOf(data)];
  if (data != null && typeof (data as Iterable<ArrayBufferView>)[Symbol.iterator] === 'function') {
    const out: Uint8Array[] = [];
    for (const c of data as Iterable<ArrayBufferView>) {
      if (!ArrayBuffer.isView(c)) throw new TypeError('writeFileAtomic: every chunk must be a typed array or Buffer');
      out.push(bytesOf(c));
    }
    return out;
  }
  throw new TypeError(`writeFileAtomic: data must be a string, a typed array or an iterable of them, got ${typeof data}`);
}

function tempPathFor(target: string): string {
  const dir = path.dirname(target);
  const base = path.basename(target);
  // Leading dot keeps it out of casual listings; pid + random suffix keeps concurrent writers apart.
  return path.join(dir, `.${base}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

function fsyncDirBestEffort(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Windows and some filesystems refuse fsync on directories; the rename is still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Async twin of {@link writeFileAtomic}: does not block the Node-RED thread on disk I/O.
 */
export async function writeFileAtomicAsync(target: string, data: AtomicData): Promise<void> {
  const chunks = toChunks(data);
  const dir = path.dirname(path.resolve(target));
  const tmp = tempPathFor(path.resolve(target));
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(tmp, 'wx', 0o644);
    for (const c of chunks) {
      let off = 0;
      while (off < c.byteLength) {
        const { bytesWritten } = await handle.write(c, off, c.byteLength - off);
        off += bytesWritten;
      }
    }
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.promises.rename(tmp, target);
  } catch (err) {
    if (handle) await handle.close().catch(() => undefined);
    await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    throw new Error(`writeFileAtomic: could not write ${target}: ${describe(err)}`);
  }
  fsyncDirBestEffort(dir);
}

/**
 * Writes `data` to `target` atomically (temp file + fsync + rename). `data` may be several chunks
 * (e.g. a safetensors header and tensor buffers) so callers need not concatenate large buffers.
 * Throws an Error naming the target file if anything fails; the temp file never survives.
 */
export function writeFileAtomic(target: string, data: AtomicData): void {
  const chunks = toChunks(data);
  const dir = path.dirname(path.resolve(target));
  const tmp = tempPathFor(path.resolve(target));
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx', 0o644);
    for (const c of chunks) {
      let off = 0;
      while (off < c.byteLength) off += fs.writeSync(fd, c, off, c.byteLength - off);
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, target);
  } catch (err) {
    if (fd !== undefined) {
      try { fs.closeSync(fd); } catch { /* already failing */ }
    }
    fs.rmSync(tmp, { force: true });
    throw new Error(`writeFileAtomic: could not write ${target}: ${describe(err)}`);
  }
  fsyncDirBestEffort(dir);
}
