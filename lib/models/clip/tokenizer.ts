/**
 * CLIPTokenizer (transformers v4.26 slow tokenizer semantics, with ftfy installed) for Stable Diffusion v1.x.
 *
 * Per prompt:
 *  1. cut added tokens and the special-token strings out of the raw text (added-tokens.ts);
 *  2. each remaining piece: ftfy subset + whitespace clean + lowercase (text-cleanup.ts), CLIP regex
 *     (pre-tokenizer.ts), UTF-8 bytes → printable characters (byte-unicode.ts), BPE with `</w>` (bpe.ts);
 *  3. bos + ids + eos, truncation to `maxLength` (keeps bos, the first maxLength−2 ids and eos), padding on
 *     the right with the pad id (49407 in SD v1.x, which pads with `<|endoftext|>`).
 */
import { NoSplitMatcher } from './added-tokens';
import { BytePairEncoder } from './bpe';
import { bytesToUnicode, unicodeToText } from './byte-unicode';
import { preTokenize } from './pre-tokenizer';
import { cleanText } from './text-cleanup';
import { CLIPTokenizerFiles, readTokenizerFolder } from './tokenizer-files';

export interface TokenizeOptions {
  /** Pad every row to `maxLength` (SD's `padding="max_length"`). Default true. */
  padding?: boolean;
  /** Cut to `maxLength` keeping bos/eos. Default true. */
  truncation?: boolean;
  /** Default: the folder's `model_max_length` (77). */
  maxLength?: number;
}

export interface TokenizerOutput {
  /** One row per prompt. */
  inputIds: number[][];
  /** 1 for bos/tokens/eos, 0 for padding. */
  attentionMask: number[][];
}

export interface DecodeOptions {
  skipSpecialTokens?: boolean;
  /** transformers' `clean_up_tokenization_spaces` (default true in v4.26). */
  cleanUpSpaces?: boolean;
}

export class CLIPTokenizer {
  readonly bosToken: string;
  readonly eosToken: string;
  readonly unkToken: string;
  readonly padToken: string;
  readonly modelMaxLength: number;

  private readonly encoder: Map<string, number>;
  private readonly decoder: Map<number, string>;
  private readonly baseVocabSize: number;
  private readonly bpe: BytePairEncoder;
  private readonly addedEncoder = new Map<string, number>();
  private readonly addedDecoder = new Map<number, string>();
  private readonly noSplit = new NoSplitMatcher();

  constructor(files: CLIPTokenizerFiles) {
    this.encoder = new Map(Object.entries(files.vocab));
    this.decoder = new Map([...this.encoder].map(([t, i]) => [i, t]));
    this.baseVocabSize = this.encoder.size;
    this.bosToken = files.bosToken;
    this.eosToken = files.eosToken;
    this.unkToken = files.unkToken;
    this.padToken = files.padToken;
    this.modelMaxLength = files.modelMaxLength;
    for (const [name, tok] of Object.entries({ bos: files.bosToken, eos: files.eosToken, unk: files.unkToken })) {
      if (!this.encoder.has(tok)) throw new Error(`CLIP tokenizer: ${name} token ${JSON.stringify(tok)} is not in vocab.json`);
    }
    // The special-token strings map to themselves, never through BPE (as in CLIP's bpe cache).
    this.bpe = new BytePairEncoder(files.merges, [files.bosToken, files.eosToken]);
    // transformers makes every special token "no split": typed in a prompt, it becomes its id.
    this.noSplit.add(this.specialTokens());
    const saved = Object.entries(files.addedTokens).sort((a, b) => a[1] - b[1]);
    for (const [tok, id] of saved) {
      if (id !== this.length) {
        throw new Error(`CLIP tokenizer: added token ${JSON.stringify(tok)} has id ${id}, expected ${this.length} (ids must follow the vocabulary)`);
      }
      this.registerAdded(tok);
    }
  }

  /** Loads a tokenizer folder (vocab.json + merges.txt [+ tokenizer_config.json, special_tokens_map.json, added_tokens.json]). */
  static fromFolder(dir: string): CLIPTokenizer {
    return new CLIPTokenizer(readTokenizerFolder(dir));
  }

  /** Size of the base vocabulary, without added tokens (49408 for CLIP). */
  get vocabSize(): number {
    return this.baseVocabSize;
  }

  /** Base vocabulary plus added tokens (transformers' `len(tokenizer)`). */
  get length(): number {
    return this.baseVocabSize + this.addedEncoder.size;
  }

  get bosTokenId(): number { return this.tokenToId(this.bosToken); }
  get eosTokenId(): number { return this.tokenToId(this.eosToken); }
  get unkTokenId(): number { return this.tokenToId(this.unkToken); }
  get padTokenId(): number { return this.tokenToId(this.padToken); }

  /** Added tokens with their ids, in id order. */
  get addedTokens(): Array<{ token: string; id: number }> {
    return [...this.addedEncoder].map(([token, id]) => ({ token, id }));
  }

  /**
   * Adds tokens after the vocabulary (transformers' `add_tokens`): a token already known (in the vocabulary
   * or added before) or repeated in the list is skipped. Returns how many were added.
   */
  addTokens(tokens: readonly string[]): number {
    let added = 0;
    for (const tok of tokens) {
      if (typeof tok !== 'string' || tok.length === 0) throw new Error(`CLIP tokenizer: addTokens expects non-empty strings, got ${JSON.stringify(tok)}`);
      if (tok === this.unkToken || this.encoder.has(tok) || this.addedEncoder.has(tok)) continue;
      this.registerAdded(tok);
      added++;
    }
    return added;
  }

  /** Id of a token string (vocabulary, then added tokens); unknown strings give the unk id. */
  tokenToId(token: string): number {
    const id = this.addedEncoder.get(token) ?? this.encoder.get(token) ?? this.encoder.get(this.unkToken);
    if (id === undefined) throw new Error(`CLIP tokenizer: unk token ${this.unkToken} is not in vocab.json`);
    return id;
  }

  idToToken(id: number): string {
    const tok = this.addedDecoder.get(id) ?? this.decoder.get(id);
    if (tok === undefined) throw new Error(`CLIP tokenizer: id ${id} is outside the vocabulary (size ${this.length})`);
    return tok;
  }

  /** Token strings of `text` (BPE pieces with `</w>`, added and special tokens whole); no bos/eos. */
  tokenize(text: string): string[] {
    const out: string[] = [];
    for (const piece of this.noSplit.split(text)) {
      if (piece.kind === 'token') {
        out.push(piece.token);
        continue;
      }
      for (const word of preTokenize(cleanText(piece.text))) {
        out.push(...this.bpe.encode(bytesToUnicode(word)));
      }
    }
    return out;
  }

  /** Ids of `text` with bos/eos, untruncated and unpadded (transformers' `tokenizer(text).input_ids`). */
  encode(text: string): number[] {
    return [this.bosTokenId, ...this.tokenize(text).map((t) => this.tokenToId(t)), this.eosTokenId];
  }

  /** Batch tokenization as SD pipelines call it: `tokenizer(prompts, padding="max_length", max_length=77, truncation=True)`. */
  call(texts: string | readonly string[], opts: TokenizeOptions = {}): TokenizerOutput {
    const list = typeof texts === 'string' ? [texts] : texts;
    const maxLength = opts.maxLength ?? this.modelMaxLength;
    if (maxLength < 2) throw new Error(`CLIP tokenizer: maxLength ${maxLength} leaves no room for bos and eos`);
    const padding = opts.padding ?? true;
    const truncation = opts.truncation ?? true;
    const inputIds: number[][] = [];
    const attentionMask: number[][] = [];
    for (const text of list) {
      let body = this.tokenize(text).map((t) => this.tokenToId(t));
      if (truncation && body.length > maxLength - 2) body = body.slice(0, maxLength - 2);
      const ids = [this.bosTokenId, ...body, this.eosTokenId];
      const mask = ids.map(() => 1);
      if (padding) {
        while (ids.length < maxLength) {
          ids.push(this.padTokenId);
          mask.push(0);
        }
      }
      inputIds.push(ids);
      attentionMask.push(mask);
    }
    return { inputIds, attentionMask };
  }

  /**
   * Ids → text. BPE pieces are joined, bytes decoded, `</w>` becomes a space; added tokens are kept whole and
   * separated by spaces (transformers' `spaces_between_special_tokens`).
   */
  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    const specialIds = new Set(this.specialTokens().map((t) => this.tokenToId(t)));
    const parts: string[] = [];
    let run: string[] = [];
    const flush = (): void => {
      if (run.length) parts.push(unicodeToText(run.join('')).replace(/<\/w>/g, ' ').trim());
      run = [];
    };
    for (const id of ids) {
      if (opts.skipSpecialTokens && specialIds.has(id)) continue;
      const tok = this.idToToken(id);
      if (this.addedEncoder.has(tok)) {
        flush();
        parts.push(tok);
      } else {
        run.push(tok);
      }
    }
    flush();
    const text = parts.join(' ');
    return opts.cleanUpSpaces === false ? text : cleanUpTokenizationSpaces(text);
  }

  private specialTokens(): string[] {
    return [...new Set([this.bosToken, this.eosToken, this.unkToken, this.padToken])];
  }

  private registerAdded(tok: string): void {
    const id = this.length;
    this.addedEncoder.set(tok, id);
    this.addedDecoder.set(id, tok);
    this.noSplit.add([tok]);
  }
}

/** transformers' `clean_up_tokenization`: removes the space English tokenizers put before punctuation/clitics. */
function cleanUpTokenizationSpaces(text: string): string {
  return text
    .replace(/ \./g, '.')
    .replace(/ \?/g, '?')
    .replace(/ !/g, '!')
    .replace(/ ,/g, ',')
    .replace(/ ' /g, "'")
    .replace(/ n't/g, "n't")
    .replace(/ 'm/g, "'m")
    .replace(/ 's/g, "'s")
    .replace(/ 've/g, "'ve")
    .replace(/ 're/g, "'re");
}
