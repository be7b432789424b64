/**
 * Writes never leave a half-written file: the data goes to a temp file in the same folder (so the rename
 * stays on one filesystem and is atomic), is fsync'ed, then renamed over the target.
 */
import * as fs from 'fs';
import * as path from 'path';

function tempPathFor(target: string): string {
  const dir = path.dirname(target);
  const base = path.basename(target);
  return path.join(dir, `.${base}.${process.pid}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}.tmp`);
}

/** Writes `chunks` in order to `target` atomically. */
export function writeFileAtomic(target: string, data: Uint8Array | string | Iterable<Uint8Array>): void {
  const tmp = tempPathFor(target);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'w', 0o644);
    if (typeof data === 'string' || data instanceof Uint8Array) {
      fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    } else {
      for (const chunk of data) {
        let off = 0;
        while (off < chunk.byteLength) off += fs.writeSync(fd, chunk, off, chunk.byteLength - off);
      }
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, target);
  } catch (err) {
    if (fd !== undefined) {
      try { fs.closeSync(fd); } catch { /* already failing */ }
    }
    try { fs.unlinkSync(tmp); } catch { /* temp may not exist */ }
    throw new Error(`cannot write ${target}: ${(err as Error).message}`);
  }
}
