/**
 * Reading a transformers `CLIPTokenizer` folder (SD's `tokenizer/`): vocab.json, merges.txt and, where
 * present, tokenizer_config.json, special_tokens_map.json and added_tokens.json.
 */
import * as fs from 'fs';
import * as path from 'path';

/** transformers reads at most this many merges (openai's `merges[1:49152-256-2+1]`); we mirror the cap. */
export const MAX_CLIP_MERGES = 49152 - 256 - 2;

export interface CLIPTokenizerFiles {
  vocab: Record<string, number>;
  merges: string[];
  bosToken: string;
  eosToken: string;
  unkToken: string;
  padToken: string;
  modelMaxLength: number;
  /** added_tokens.json: token → id, ids after the base vocabulary. */
  addedTokens: Record<string, number>;
}

/** transformers' CLIPTokenizer defaults (bos/eos/unk/pad) for keys the folder does not set. */
const DEFAULT_SPECIALS = {
  bos_token: '<|startoftext|>',
  eos_token: '<|endoftext|>',
  unk_token: '<|endoftext|>',
  pad_token: '<|endoftext|>',
};
const DEFAULT_MODEL_MAX_LENGTH = 77;

function readJson(file: string): Record<string, unknown> {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`CLIP tokenizer: cannot parse ${file}: ${(e as Error).message}`);
  }
}

function readOptionalJson(file: string): Record<string, unknown> {
  return fs.existsSync(file) ? readJson(file) : {};
}

/** A special token may be saved as a plain string or as an AddedToken object `{content, ...}`. */
function tokenString(value: unknown, key: string, file: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content;
  }
  throw new Error(`CLIP tokenizer: ${key} in ${file} is neither a string nor {content: string}`);
}

export function readTokenizerFolder(dir: string): CLIPTokenizerFiles {
  const vocabPath = path.join(dir, 'vocab.json');
  const mergesPath = path.join(dir, 'merges.txt');
  for (const f of [vocabPath, mergesPath]) {
    if (!fs.existsSync(f)) throw new Error(`CLIP tokenizer: missing ${f}`);
  }
  const vocab = readJson(vocabPath) as Record<string, number>;
  const lines = fs.readFileSync(mergesPath, 'utf8').split('\n');
  // First line is the "#version: …" header; transformers skips it unconditionally.
  const merges = lines.slice(1).map((l) => l.replace(/\r$/, '')).filter((l) => l.trim().length > 0);
  if (merges.length > MAX_CLIP_MERGES) merges.length = MAX_CLIP_MERGES;

  const configPath = path.join(dir, 'tokenizer_config.json');
  const mapPath = path.join(dir, 'special_tokens_map.json');
  const config = readOptionalJson(configPath);
  const specialMap = readOptionalJson(mapPath);
  const special = (key: keyof typeof DEFAULT_SPECIALS): string =>
    tokenString(specialMap[key], key, mapPath) ?? tokenString(config[key], key, configPath) ?? DEFAULT_SPECIALS[key];

  const maxLen = config['model_max_length'];
  // transformers uses a huge sentinel (1e30) when unset; CLIP's position table is 77 long, so use 77.
  const modelMaxLength = typeof maxLen === 'number' && maxLen < 1e6 ? maxLen : DEFAULT_MODEL_MAX_LENGTH;

  const addedTokens = readOptionalJson(path.join(dir, 'added_tokens.json')) as Record<string, number>;
  return {
    vocab,
    merges,
    bosToken: special('bos_token'),
    eosToken: special('eos_token'),
    unkToken: special('unk_token'),
    padToken: special('pad_token'),
    modelMaxLength,
    addedTokens,
  };
}
