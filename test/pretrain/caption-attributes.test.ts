import * as assert from 'assert';
import { findSubjectWords, parseAttributeList } from '../../lib/pretrain/caption-attributes';
import { randomScene } from '../../lib/world';
import { Rng } from '../../lib/random';

describe('pretrain/caption-attributes', () => {
  it('should find the class word and the colour and pattern words before it', () => {
    const f = findSubjectWords('a photo of an orange striped ball with tilted pose in grass background')!;
    assert.deepStrictEqual([f.words[f.class], f.words[f.colour], f.words[f.pattern]], ['ball', 'orange', 'striped']);
    assert.deepStrictEqual([f.class, f.colour, f.pattern], [6, 4, 5]);
  });

  it('should report a plain subject as having no pattern word, and a caption without a class as no subject', () => {
    const plain = findSubjectWords('a red cup')!;
    assert.deepStrictEqual([plain.class, plain.colour, plain.pattern], [2, 1, -1]);
    assert.strictEqual(findSubjectWords(''), undefined);
    assert.strictEqual(findSubjectWords('a photo of a striped object'), undefined);
  });

  it('should not take words after the class word (the pose and background) as the subject\'s', () => {
    const f = findSubjectWords('a cup with dotted pose in brick wall background')!;
    assert.deepStrictEqual([f.colour, f.pattern], [-1, -1]);
  });

  it('should find class and colour in every world caption', () => {
    const rng = new Rng(3);
    for (let i = 0; i < 200; i++) {
      const s = randomScene(rng.fork(`s${i}`), { split: 'train' });
      const f = findSubjectWords(s.caption);
      assert.ok(f && f.class >= 0 && f.colour >= 0 && f.colour < f.class, s.caption);
      assert.strictEqual(f.words[f.class], s.attributes.class, s.caption);
      assert.strictEqual(f.words[f.colour], s.attributes.colour, s.caption);
    }
  });

  it('should check an attribute list and name what is wrong', () => {
    assert.deepStrictEqual(parseAttributeList('pattern, class,pattern', ['class', 'pattern'] as const, 'swap'), ['pattern', 'class']);
    assert.throws(() => parseAttributeList('size', ['class', 'pattern'] as const, 'swap'), /swap one or more of class, pattern; got 'size': 'size' is not one of them/);
    assert.throws(() => parseAttributeList('class,pattern,class', ['class', 'pattern'] as const, 'swap', true), /swap: 'class' is given twice in 'class,pattern,class'/);
    assert.throws(() => parseAttributeList('', ['class'] as const, 'swap'), /got ''/);
  });
});
