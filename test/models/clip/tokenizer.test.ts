import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { CLIPTokenizer } from '../../../lib/models/clip/tokenizer';
import { fixText } from '../../../lib/models/clip/text-cleanup';
import { fixture } from '../../helpers/fixtures';

interface GoldenCase {
  prompt: string;
  category?: string;
  input_ids: number[];
  attention_mask: number[];
  ids_untruncated: number[];
  tokens_untruncated: string[];
}
interface Goldens {
  special_ids: { bos: number; eos: number; pad: number; unk: number; vocab_size: number };
  cases: GoldenCase[];
  added_tokens: { return_value: number; len_tokenizer_after: number; tokens: Array<{ token: string; id: number }>; cases: GoldenCase[] };
}

describe('models/clip/tokenizer (clip-tokenizer goldens)', function () {
  const dir = fixture('clip-tokenizer');
  if (!dir) return;
  const goldens = JSON.parse(fs.readFileSync(path.join(dir, 'goldens.json'), 'utf8')) as Goldens;
  let tok: CLIPTokenizer;
  before(() => {
    tok = CLIPTokenizer.fromFolder(dir);
  });

  it('should read SD v1.x special ids and sizes', () => {
    const s = goldens.special_ids;
    assert.deepStrictEqual(
      [tok.bosTokenId, tok.eosTokenId, tok.padTokenId, tok.unkTokenId, tok.vocabSize, tok.modelMaxLength],
      [s.bos, s.eos, s.pad, s.unk, s.vocab_size, 77],
    );
  });

  for (const c of goldens.cases) {
    it(`should match [${c.category}] ${JSON.stringify(c.prompt).slice(0, 60)}`, () => {
      assert.deepStrictEqual(tok.tokenize(c.prompt), c.tokens_untruncated.slice(1, -1));
      assert.deepStrictEqual(tok.encode(c.prompt), c.ids_untruncated);
      const out = tok.call([c.prompt]);
      assert.deepStrictEqual(out.inputIds[0], c.input_ids);
      assert.deepStrictEqual(out.attentionMask[0], c.attention_mask);
    });
  }

  describe('added tokens', () => {
    let withAdded: CLIPTokenizer;
    before(() => {
      withAdded = CLIPTokenizer.fromFolder(dir);
      const n = withAdded.addTokens(goldens.added_tokens.tokens.map((t) => t.token));
      assert.strictEqual(n, goldens.added_tokens.return_value);
    });

    it('should number added tokens after the vocabulary', () => {
      assert.strictEqual(withAdded.length, goldens.added_tokens.len_tokenizer_after);
      assert.deepStrictEqual(withAdded.addedTokens, goldens.added_tokens.tokens);
    });

    it('should not add known or repeated tokens again', () => {
      assert.strictEqual(withAdded.addTokens(['<new1>', 'dog</w>', '<|endoftext|>', '<x9>', '<x9>']), 1);
      assert.strictEqual(withAdded.length, goldens.added_tokens.len_tokenizer_after + 1);
    });

    for (const c of goldens.added_tokens.cases) {
      it(`should match ${JSON.stringify(c.prompt).slice(0, 60)}`, () => {
        assert.deepStrictEqual(withAdded.tokenize(c.prompt), c.tokens_untruncated.slice(1, -1));
        assert.deepStrictEqual(withAdded.encode(c.prompt), c.ids_untruncated);
        const out = withAdded.call(c.prompt);
        assert.deepStrictEqual(out.inputIds[0], c.input_ids);
        assert.deepStrictEqual(out.attentionMask[0], c.attention_mask);
      });
    }
  });

  describe('decode', () => {
    it('should round-trip plain prompts', () => {
      for (const p of ['a photo of a cat', "it's a dog's life", 'café crème brûlée', '東京の夜景']) {
        assert.strictEqual(tok.decode(tok.encode(p), { skipSpecialTokens: true }), p);
      }
    });
    it('should keep added tokens whole', () => {
      const t = CLIPTokenizer.fromFolder(dir);
      t.addTokens(['<new1>']);
      assert.strictEqual(t.decode(t.encode('a <new1> dog'), { skipSpecialTokens: true }), 'a <new1> dog');
    });
    it('should name a bad id', () => {
      assert.throws(() => tok.decode([99999]), /id 99999 is outside the vocabulary/);
    });
  });

  describe('text cleanup (ftfy subset)', () => {
    it('should unescape entities only when there is no "<"', () => {
      assert.strictEqual(fixText('rock &amp; roll &#233; &#xE9; &AMP;'), 'rock & roll é é &');
      assert.strictEqual(fixText('<b> &amp;'), '<b> &amp;');
    });
    it('should fold ligatures, widths, quotes and compose', () => {
      assert.strictEqual(fixText('\ufb01 \uff21\u3000\u201chi\u201d it\u2019s e\u0301'), 'fi A "hi" it\'s \u00e9');
    });
  });
});
