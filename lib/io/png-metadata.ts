/**
 * PNG text metadata, read and written at the chunk level (no re-encoding of pixels).
 *
 * A PNG is an 8-byte signature then chunks: 4-byte big-endian length, 4-byte type, data, CRC-32 over
 * type+data. Text lives in tEXt (Latin-1 keyword\0text), zTXt (keyword\0 method zlib-text) and iTXt
 * (keyword\0 flag method lang\0 translated\0 UTF-8 text, optionally zlib).
 *
 * Like ComfyUI embeds its workflow as a JSON text chunk, a generated image carries its recipe: one chunk
 * per field (prompt, negative_prompt, seed, steps, guidance, model, concept) so any PNG viewer shows
 * them, plus a "detex" chunk holding everything as JSON for exact round-trips.
 */
import * as zlib from 'zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

// ---------------------------------------------------------------------------------------------
// CRC-32 (ISO-HDLC, polynomial 0xEDB88320), as the PNG spec defines it
// ---------------------------------------------------------------------------------------------

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 of the concatenated byte arrays. */
export function crc32(...parts: Uint8Array[]): number {
  let c = 0xffffffff;
  for (const p of parts) for (let i = 0; i < p.length; i++) c = CRC_TABLE[(c ^ p[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Chunks
// ---------------------------------------------------------------------------------------------

export interface PngChunk {
  type: string;
  data: Buffer;
}

export class PngFormatError extends Error {}

function fail(source: string, problem: string): never {
  throw new PngFormatError(`${source}: ${problem}`);
}

export function isPng(buf: Uint8Array): boolean {
  return buf.length >= 8 && SIGNATURE.equals(Buffer.from(buf.buffer, buf.byteOffset, 8));
}

/**
 * Splits a PNG into its chunks, checking the signature, every length and CRC, and that the file starts
 * with IHDR and ends with IEND. `source` (a file name) prefixes every error.
 */
export function readPngChunks(png: Uint8Array, source = 'PNG data'): PngChunk[] {
  const buf = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  if (!isPng(buf)) fail(source, 'not a PNG file (bad signature)');
  const chunks: PngChunk[] = [];
  let off = 8;
  while (off < buf.length) {
    if (off + 8 > buf.length) fail(source, `truncated: chunk header at byte ${off} runs past the end (${buf.length} bytes)`);
    const len = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    if (!/^[A-Za-z]{4}$/.test(type)) fail(source, `corrupt: invalid chunk type ${JSON.stringify(type)} at byte ${off}`);
    if (len > 0x7fffffff) fail(source, `corrupt: chunk ${type} at byte ${off} declares length ${len}`);
    const end = off + 12 + len;
    if (end > buf.length) fail(source, `truncated: chunk ${type} at byte ${off} needs ${len} data bytes, file ends at ${buf.length}`);
    const data = buf.subarray(off + 8, off + 8 + len);
    const stored = buf.readUInt32BE(off + 8 + len);
    const actual = crc32(buf.subarray(off + 4, off + 8), data);
    if (stored !== actual) fail(source, `corrupt: CRC mismatch in chunk ${type} at byte ${off}`);
    chunks.push({ type, data });
    off = end;
    if (type === 'IEND') break;
  }
  if (chunks.length === 0 || chunks[0].type !== 'IHDR') fail(source, 'corrupt: first chunk is not IHDR');
  if (chunks[chunks.length - 1].type !== 'IEND') fail(source, 'truncated: no IEND chunk');
  return chunks;
}

/** Serialises chunks (recomputing every length and CRC) behind the PNG signature. */
export function writePngChunks(chunks: readonly PngChunk[]): Buffer {
  const parts: Buffer[] = [SIGNATURE];
  for (const c of chunks) {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(c.data.length, 0);
    head.write(c.type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(head.subarray(4, 8), c.data), 0);
    parts.push(head, c.data, crc);
  }
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------------------------
// Text chunks
// ---------------------------------------------------------------------------------------------

function checkKeyword(key: string): void {
  // PNG spec: 1–79 Latin-1 printable characters, no leading/trailing/double spaces.
  if (key.length < 1 || key.length > 79 || !/^[\x20-\x7e\xa1-\xff]+$/.test(key) || /^ | $| {2}/.test(key)) {
    throw new PngFormatError(`PNG text keyword ${JSON.stringify(key)} is invalid (1-79 Latin-1 characters, no edge or double spaces)`);
  }
}

function isLatin1(s: string): boolean {
  // tEXt text may hold newlines; other control characters and anything past U+00FF need iTXt.
  return /^[\n\x20-\x7e\xa0-\xff]*$/.test(s);
}

/** A tEXt chunk when the text is Latin-1, else an uncompressed UTF-8 iTXt chunk (as PIL's add_text). */
export function textChunk(key: string, value: string): PngChunk {
  checkKeyword(key);
  if (isLatin1(value)) return { type: 'tEXt', data: Buffer.concat([Buffer.from(key, 'latin1'), Buffer.from([0]), Buffer.from(value, 'latin1')]) };
  // keyword \0, compression flag 0, method 0, empty language tag \0, empty translated keyword \0, text
  return {
    type: 'iTXt',
    data: Buffer.concat([Buffer.from(key, 'latin1'), Buffer.from([0, 0, 0, 0, 0]), Buffer.from(value, 'utf8')]),
  };
}

function inflate(source: string, type: string, key: string, data: Buffer): Buffer {
  try {
    return zlib.inflateSync(data);
  } catch (e) {
    return fail(source, `corrupt: ${type} chunk "${key}" does not inflate (${(e as Error).message})`);
  }
}

/** Decodes one tEXt / zTXt / iTXt chunk, or returns undefined for other chunk types. */
export function decodeTextChunk(c: PngChunk, source = 'PNG data'): { key: string; value: string } | undefined {
  if (c.type !== 'tEXt' && c.type !== 'zTXt' && c.type !== 'iTXt') return undefined;
  const nul = c.data.indexOf(0);
  if (nul < 1) fail(source, `corrupt: ${c.type} chunk without a keyword`);
  const key = c.data.toString('latin1', 0, nul);
  if (c.type === 'tEXt') return { key, value: c.data.toString('latin1', nul + 1) };
  if (c.type === 'zTXt') {
    if (c.data[nul + 1] !== 0) fail(source, `corrupt: zTXt chunk "${key}" uses unknown compression method ${c.data[nul + 1]}`);
    return { key, value: inflate(source, c.type, key, c.data.subarray(nul + 2)).toString('latin1') };
  }
  const flag = c.data[nul + 1];
  const method = c.data[nul + 2];
  const langEnd = c.data.indexOf(0, nul + 3);
  const transEnd = langEnd < 0 ? -1 : c.data.indexOf(0, langEnd + 1);
  if (flag === undefined || method === undefined || transEnd < 0) fail(source, `corrupt: iTXt chunk "${key}" is truncated`);
  const body = c.data.subarray(transEnd + 1);
  if (flag === 1 && method !== 0) fail(source, `corrupt: iTXt chunk "${key}" uses unknown compression method ${method}`);
  return { key, value: (flag === 1 ? inflate(source, c.type, key, body) : body).toString('utf8') };
}

/** Every text entry of a PNG in file order (later duplicates win in the record). */
export function readPngText(png: Uint8Array, source = 'PNG data'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of readPngChunks(png, source)) {
    const t = decodeTextChunk(c, source);
    if (t) out[t.key] = t.value;
  }
  return out;
}

/**
 * Returns a copy of `png` with the given text entries. Existing text chunks with the same keywords are
 * replaced; new chunks go before the first IDAT so readers that stop at the image data still see them.
 */
export function writePngText(png: Uint8Array, entries: Record<string, string>, source = 'PNG data'): Buffer {
  const fresh = Object.entries(entries).map(([k, v]) => textChunk(k, v));
  const keys = new Set(Object.keys(entries));
  const kept = readPngChunks(png, source).filter((c) => {
    const t = decodeTextChunk(c, source);
    return !(t && keys.has(t.key));
  });
  const at = kept.findIndex((c) => c.type === 'IDAT');
  if (at < 0) fail(source, 'corrupt: no IDAT chunk');
  return writePngChunks([...kept.slice(0, at), ...fresh, ...kept.slice(at)]);
}

// ---------------------------------------------------------------------------------------------
// The generation recipe carried by DETEX images
// ---------------------------------------------------------------------------------------------

export interface DetexImageMetadata {
  prompt?: string;
  negative_prompt?: string;
  seed?: number;
  steps?: number;
  guidance?: number;
  model?: string;
  concept?: string;
  /** anything else worth keeping (scheduler, eta, size, versions…); stored in the JSON "detex" chunk */
  extra?: Record<string, unknown>;
}

const STRING_FIELDS = ['prompt', 'negative_prompt', 'model', 'concept'] as const;
const NUMBER_FIELDS = ['seed', 'steps', 'guidance'] as const;
export const DETEX_JSON_KEY = 'detex';

/** The text entries for `meta`: one per field plus "detex" = the whole record as JSON. */
export function detexTextEntries(meta: DetexImageMetadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of STRING_FIELDS) {
    const v = meta[k];
    if (v === undefined) continue;
    if (typeof v !== 'string') throw new Error(`PNG metadata: "${k}" must be a string, got ${typeof v}`);
    out[k] = v;
  }
  for (const k of NUMBER_FIELDS) {
    const v = meta[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`PNG metadata: "${k}" must be a finite number, got ${JSON.stringify(v)}`);
    out[k] = String(v);
  }
  out[DETEX_JSON_KEY] = JSON.stringify(meta);
  return out;
}

/** `png` with the DETEX recipe embedded (replacing an older one). */
export function embedDetexMetadata(png: Uint8Array, meta: DetexImageMetadata, source?: string): Buffer {
  return writePngText(png, detexTextEntries(meta), source);
}

/**
 * The DETEX recipe of a PNG: from the JSON "detex" chunk when present, else from the individual chunks
 * (so an image whose JSON chunk was stripped still gives what is left). Undefined if none is present.
 */
export function readDetexMetadata(png: Uint8Array, source = 'PNG data'): DetexImageMetadata | undefined {
  const text = readPngText(png, source);
  if (text[DETEX_JSON_KEY] !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text[DETEX_JSON_KEY]);
    } catch (e) {
      fail(source, `the "${DETEX_JSON_KEY}" text chunk is not valid JSON (${(e as Error).message})`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) fail(source, `the "${DETEX_JSON_KEY}" text chunk is not a JSON object`);
    return parsed as DetexImageMetadata;
  }
  const meta: DetexImageMetadata = {};
  let any = false;
  for (const k of STRING_FIELDS) {
    if (text[k] !== undefined) { meta[k] = text[k]; any = true; }
  }
  for (const k of NUMBER_FIELDS) {
    if (text[k] === undefined) continue;
    const n = Number(text[k]);
    if (!Number.isFinite(n)) fail(source, `text chunk "${k}" = ${JSON.stringify(text[k])} is not a number`);
    meta[k] = n;
    any = true;
  }
  return any ? meta : undefined;
}
