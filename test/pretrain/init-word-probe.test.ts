/** scripts/pretrain/init-word-probe: the word [V]'s initialiser picks per held-out subject, as TRAINING.md runs it. */
import * as assert from 'assert';
import { execFileSync } from 'child_process';
import { DETEX_MINI, pretrainScript } from '../helpers/pretrain-paths';
import { expectRefusal } from '../helpers/script-refusal';

describe('init-word-probe script (detex-mini)', function () {
  this.timeout(300000);
  const script = pretrainScript('init-word-probe.js');

  it("should name the green striped bottle's colour from its photos and count it", () => {
    const out = execFileSync(process.execPath, [script, '--model', DETEX_MINI, '--subjects', '4'], { encoding: 'utf8', env: { ...process.env, DETEX_BACKEND: 'cpu' } });
    assert.match(out, /^bottle-green-stripes-white-cap \(green\): green {2}\[green \d\.\d{4}, \w+ \d\.\d{4}, \w+ \d\.\d{4}, \w+ \d\.\d{4}\] {2}[\d.]+ s$/m);
    assert.match(out, /the body colour named for 1 of 1 subjects \(10 words, 4 photos, seed 0\)$/m);
  });

  it('should refuse a subject index that is not a held-out subject, and a candidate of two tokens', () => {
    expectRefusal(script, ['--model', DETEX_MINI, '--subjects', '9'], /--subjects: 9 is not an index of the 8 held-out subjects/);
    expectRefusal(script, ['--model', DETEX_MINI, '--subjects', '0', '--words', 'red,ktn'], /initialiser candidate "ktn" is 2 tokens/);
  });
});
