/**
 * The reversible byte ↔ printable-character table used by GPT-2 style byte-level BPE (and CLIP).
 *
 * BPE vocabularies cannot hold raw bytes such as 0x20 or control codes as readable strings, so each of the
 * 256 byte values is mapped to one printable Unicode character: the bytes that are already printable
 * (`!`..`~`, `¡`..`¬`, `®`..`ÿ`) map to themselves, every other byte gets the next unused code point from
 * 256 upwards, in byte order. The vocabulary's first 256 ids are these characters.
 */

function printableBytes(): number[] {
  const out: number[] = [];
  const ranges: Array<[number, number]> = [
    [0x21, 0x7e], // '!'..'~'
    [0xa1, 0xac], // '¡'..'¬'
    [0xae, 0xff], // '®'..'ÿ'
  ];
  for (const [lo, hi] of ranges) for (let b = lo; b <= hi; b++) out.push(b);
  return out;
}

function buildTables(): { encoder: string[]; decoder: Map<string, number> } {
  const printable = new Set(printableBytes());
  const encoder: string[] = new Array(256);
  let next = 256;
  for (let b = 0; b < 256; b++) {
    encoder[b] = String.fromCodePoint(printable.has(b) ? b : next++);
  }
  const decoder = new Map<string, number>();
  encoder.forEach((ch, b) => decoder.set(ch, b));
  return { encoder, decoder };
}

const TABLES = buildTables();

/** Byte value (0..255) → its printable stand-in character. */
export const BYTE_ENCODER: readonly string[] = TABLES.encoder;

/** Printable stand-in character → byte value. */
export const BYTE_DECODER: ReadonlyMap<string, number> = TABLES.decoder;

/** The UTF-8 bytes of `text`, each replaced by its stand-in character. */
export function bytesToUnicode(text: string): string {
  let out = '';
  for (const b of Buffer.from(text, 'utf8')) out += BYTE_ENCODER[b];
  return out;
}

/**
 * Inverse of {@link bytesToUnicode}: stand-in characters back to bytes, decoded as UTF-8.
 * Invalid sequences become U+FFFD (transformers' `errors="replace"`); characters outside the table are kept
 * as their own UTF-8 bytes.
 */
export function unicodeToText(mapped: string): string {
  const bytes: number[] = [];
  for (const ch of mapped) {
    const b = BYTE_DECODER.get(ch);
    if (b !== undefined) bytes.push(b);
    else bytes.push(...Buffer.from(ch, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}
