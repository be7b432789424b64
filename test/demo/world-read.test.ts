import * as assert from 'assert';
import { expectedLabels, formatTally, tally, ImageRead } from '../../lib/demo/world-read';
import { demoPrompts } from '../../lib/demo/prompts';
import { parseSubjectId } from '../../lib/world';

describe('demo/world-read', () => {
  const cup = parseSubjectId('cup-blue-dots-white-loop');
  const photoBackgrounds = ['sand', 'water', 'wood', 'snow'];

  it("should ask [V] rows for the subject's class, colour and pattern, and each row for its background", () => {
    const asked = demoPrompts(4, 'ball').map((p) => expectedLabels(p.expect, cup, photoBackgrounds));
    assert.deepStrictEqual(asked[0], { class: 'cup', colour: 'blue', pattern: 'dots', background: 'snow' });
    assert.deepStrictEqual(asked[4], { class: 'cup', colour: 'blue', pattern: 'dots', background: 'water' }, '[B_2]: photo 2');
    assert.deepStrictEqual(asked[5].background, 'snow', '[B_4]: the last photo');
    assert.deepStrictEqual(asked[6], { class: 'ball', background: 'sand' }, 'another class in [B_1]');
  });

  it('should count, per attribute, the images that showed what was asked', () => {
    const read = (ok: ImageRead['ok']): ImageRead => ({ seen: { class: 'cup', colour: 'blue', pattern: 'dots', background: 'snow' }, ok });
    const t = tally([read({ class: true, colour: false, background: true }), read({ class: false, background: true })]);
    assert.deepStrictEqual(t, { class: [1, 2], colour: [0, 1], background: [2, 2] });
    assert.strictEqual(formatTally(t), 'class 1/2, colour 0/1, background 2/2');
  });
});
