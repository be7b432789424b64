/**
 * Text cleanup in front of the CLIP tokenizer: the part of `ftfy.fix_text` (ftfy 6.1, default settings) that
 * changes real prompts, then CLIP's `whitespace_clean` and lowercasing.
 *
 * Covered, in ftfy's order:
 *  1. HTML entities are unescaped when the text has no `<` (ftfy's `unescape_html="auto"`): named entities
 *     from html-entities.ts (and their all-caps spellings), and numeric `&#NNN;` / `&#xHH;` references.
 *  2. Latin ligatures are split (U+FB00–FB06, Ĳ/ĳ, ŉ, Ǆ…ǌ, Ǳ…ǳ).
 *  3. Full-width and half-width forms (U+FF01–U+FFEF) are folded with NFKC; U+3000 becomes a space.
 *  4. Curly quotes become straight (U+02BC, U+2018–U+201B → `'`; U+201C–U+201F → `"`).
 *  5. Line breaks (CRLF, CR, U+2028, U+2029, U+0085) become `\n`.
 *  6. Unintended control characters are removed (C0 except tab/LF/FF/CR, DEL, U+206A–206F, BOM,
 *     U+FFF9–FFFC, musical formatting U+1D173–1D17A, tag characters U+E0000–E007F).
 *  7. NFC normalization.
 *
 * NOT covered: mojibake repair (`fix_encoding`: text that was UTF-8 decoded as Latin-1/Windows-1252, e.g.
 * "cafÃ©" → "café"), C1-control repair, `restore_byte_a0`, lossy-sequence replacement, terminal-escape removal
 * and the HTML5 entities outside our table. Prompts typed by people practically never need these; a
 * prompt that does will tokenize as its literal characters.
 */
import { HTML_ENTITIES } from './html-entities';

/** Python's `str.isspace()` set, which `re.sub(r"\s+", …)` uses; JS `\s` differs (no U+001C–1F / U+0085, adds U+FEFF). */
const PY_WHITESPACE = '\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_WHITESPACE_RUN = new RegExp(`[${PY_WHITESPACE}]+`, 'gu');
const PY_WHITESPACE_EDGES = new RegExp(`^[${PY_WHITESPACE}]+|[${PY_WHITESPACE}]+$`, 'gu');

/** Character class body for Python whitespace, for use in other regexes (the pre-tokenizer). */
export const PYTHON_WHITESPACE_CLASS = PY_WHITESPACE;

const ENTITY_RE = /&#?[0-9A-Za-z]{1,24};/g;

function unescapeEntity(ref: string): string {
  const body = ref.slice(1, -1);
  if (body.startsWith('#')) {
    const hex = body[1] === 'x' || body[1] === 'X';
    const digits = hex ? body.slice(2) : body.slice(1);
    if (!(hex ? /^[0-9a-fA-F]+$/ : /^[0-9]+$/).test(digits)) return ref;
    const cp = parseInt(digits, hex ? 16 : 10);
    if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return '\ufffd';
    return String.fromCodePoint(cp);
  }
  const named = HTML_ENTITIES[body];
  if (named !== undefined) return named;
  // ftfy also accepts the all-caps spelling of entities whose name is lowercase (`&AMP;`).
  const lower = body.toLowerCase();
  if (body === body.toUpperCase() && HTML_ENTITIES[lower] !== undefined) return HTML_ENTITIES[lower];
  return ref;
}

const LIGATURES_RE = /[\u0132\u0133\u0149\u01c4-\u01cc\u01f1-\u01f3\ufb00-\ufb06]/g;
const WIDTH_RE = /[\u3000\uff01-\uffef]/g;
const SINGLE_QUOTES_RE = /[\u02bc\u2018-\u201b]/g;
const DOUBLE_QUOTES_RE = /[\u201c-\u201f]/g;
const LINE_BREAKS_RE = /\r\n|[\r\u2028\u2029\u0085]/g;
const CONTROL_RE = /[\u0000-\u0008\u000b\u000e-\u001f\u007f\u206a-\u206f\ufeff\ufff9-\ufffc\u{1d173}-\u{1d17a}\u{e0000}-\u{e007f}]/gu;

/** The ftfy subset described at the top of this file. */
export function fixText(text: string): string {
  let t = text;
  if (!t.includes('<')) t = t.replace(ENTITY_RE, unescapeEntity); // 1
  t = t.replace(LIGATURES_RE, (c) => c.normalize('NFKC')); // 2
  t = t.replace(WIDTH_RE, (c) => (c === '\u3000' ? ' ' : c.normalize('NFKC'))); // 3
  t = t.replace(SINGLE_QUOTES_RE, "'").replace(DOUBLE_QUOTES_RE, '"'); // 4
  t = t.replace(LINE_BREAKS_RE, '\n'); // 5
  t = t.replace(CONTROL_RE, ''); // 6
  return t.normalize('NFC'); // 7
}

/** CLIP's `whitespace_clean`: runs of (Python) whitespace → one space, then strip. */
export function whitespaceClean(text: string): string {
  return text.replace(PY_WHITESPACE_RUN, ' ').replace(PY_WHITESPACE_EDGES, '');
}

/** The full cleanup CLIPTokenizer applies to each piece of text before pre-tokenizing. */
export function cleanText(text: string): string {
  return whitespaceClean(fixText(text)).toLowerCase();
}
