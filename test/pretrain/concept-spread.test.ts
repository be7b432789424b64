import * as assert from 'assert';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { loadDetexModels } from '../../lib/detex/load-models';
import { ConceptVocabulary } from '../../lib/detex/composer';
import { conceptTokenStrings, allTokens } from '../../lib/detex/tokens';
import { conceptSpread } from '../../lib/pretrain/concept-spread';
import { expectNoLeak } from '../helpers/leak';
import { expectRefusal } from '../helpers/script-refusal';
import { DETEX_MINI as MINI, pretrainScript } from '../helpers/pretrain-paths';

const SCRIPT = pretrainScript('concept-probe.js');

/** A concept whose every token's vector is `scale` × a fixed pseudo-random direction of its own seed. */
function concept(subject: string, width: number, seed: number, scale = 0.7): ConceptVocabulary {
  const tokens = conceptTokenStrings(subject, 2, true);
  const vector = (k: number) => Float32Array.from({ length: width }, (_, j) => scale * Math.sin(seed * 12.9898 + k * 78.233 + j * 0.37) / Math.sqrt(width / 2));
  return { tokens, classWord: 'cup', attributeWord: 'pose', vectors: new Map(allTokens(tokens).map((t, k) => [t, vector(k)])) };
}

describe('pretrain/concept-spread', () => {
  it('should measure how far the encoder carries different concept vectors: zero for identical ones, more for more distinct ones', async () => {
    const m = await loadDetexModels(MINI, null);
    try {
      const w = m.textEncoder.hiddenSize;
      await expectNoLeak(() => {
        const same = conceptSpread(m.tokenizer, m.textEncoder, [concept('<new1>', w, 1), concept('<new1>', w, 1)], 'a photo of a {{V}} {{class}} in sand background');
        assert.ok(Math.abs(same) < 1e-3, `identical concepts (float cancellation only): ${same}`);
        const apart = conceptSpread(m.tokenizer, m.textEncoder, [concept('<new1>', w, 1), concept('<new1>', w, 2), concept('<new1>', w, 3)], 'a photo of a {{V}} {{class}} in sand background');
        const near = conceptSpread(m.tokenizer, m.textEncoder, [concept('<new1>', w, 1), concept('<new1>', w, 1, 0.75)], 'a photo of a {{V}} {{class}} in sand background');
        assert.ok(apart > 0.05 && apart < 2, `distinct concepts: ${apart}`);
        assert.ok(near > 0 && near < apart, `a rescaled vector moves the states less than other directions: ${near} vs ${apart}`);
        // [B_1] takes part when the template names it
        const withB = conceptSpread(m.tokenizer, m.textEncoder, [concept('<new1>', w, 1), concept('<new1>', w, 2)], 'a photo of a {{V}} {{class}} in {{B.1}} background', 'ball');
        assert.ok(withB > 0, `${withB}`);
      });
      assert.throws(() => conceptSpread(m.tokenizer, m.textEncoder, [concept('<new1>', w, 1)], '{{V}}'), /needs at least 2 concepts, got 1/);
      assert.throws(() => conceptSpread(m.tokenizer, m.textEncoder, [concept('<new1>', w, 1), concept('<new2>', w, 2)], '{{V}}'), /concept 1 has tokens <new2>.*they must fill the same slots/);
    } finally {
      m.dispose();
    }
  });

  it('should name what is missing when the probe script has no concepts to read', () => {
    const fails = (args: string[], re: RegExp) => expectRefusal(SCRIPT, args, re);
    fails(['--model', MINI], /usage: concept-probe.js --model DIR \(--concepts DIR\[,DIR…\] \[--class cup,ball\] \| --random N\)/);
    fails(['--model', MINI, '--random', '0'], /--random: a number of steps ≥ 1, got '0'/);
    fails(['--model', MINI, '--concepts', '/nonexistent-concepts'], /--concepts: no folder \/nonexistent-concepts/);
    fails(['--model', MINI, '--concepts', path.join(MINI, 'unet')], /found 1 concept file\(s\) in .*unet; the spread needs at least 2/);
  });

  it('should print the mean spread of the concept keeper\'s random concepts with --random', () => {
    const out = execFileSync(process.execPath, [SCRIPT, '--model', MINI, '--random', '2'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const m = /random concepts of steps 0–1, mean spread \[V\] ([0-9.]+), \[B_1\] ([0-9.]+)/.exec(out);
    assert.ok(m, out);
    for (const v of [m[1], m[2]]) assert.ok(Number(v) > 0.01 && Number(v) < 2, out);
  });
});
