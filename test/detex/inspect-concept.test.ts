import * as assert from 'assert';
import * as path from 'path';
import { DetexConcept, ConceptMeta } from '../../lib/detex/concept';
import { formatConceptReport, inspectConcept, nearestWords, wholeWords } from '../../lib/detex/inspect-concept';
import { hostTensor } from '../../lib/io/host-tensor';
import { SafetensorsReader } from '../../lib/io/safetensors';
import { tinyModelDir } from '../../lib/models/default-model';

function readWeight(file: string, name: string): Float32Array {
  const r = SafetensorsReader.open(file);
  try {
    return r.read(name).data as Float32Array;
  } finally {
    r.close();
  }
}

describe('detex/inspect-concept', () => {
  it('should rank rows by cosine, skipping unnamed rows, and name a table of the wrong size', () => {
    const table = Float32Array.from([1, 0, /* */ 0, 1, /* */ 1, 1, /* */ 5, 0.1]);
    const near = nearestWords(Float32Array.from([2, 0]), table, ['x', 'y', 'xy', null], 2);
    assert.deepStrictEqual(near.map((w) => w.word), ['x', 'xy']);
    assert.ok(Math.abs(near[0].cosine - 1) < 1e-6 && Math.abs(near[1].cosine - Math.SQRT1_2) < 1e-6);
    assert.throws(() => nearestWords(Float32Array.from([1, 0]), table, ['x', 'y'], 1), /8 numbers is not 2 rows of width 2/);
  });

  it('should keep whole words of a BPE vocabulary only', () => {
    const words = wholeWords({ 'red</w>': 0, 're': 1, 'ing</w>': 2, '!</w>': 3, 'a</w>': 4, 'blue</w>': 9 }, 5);
    assert.deepStrictEqual(words, ['red', null, 'ing', null, null]);
  });

  it('should find a word planted as [V] and the K/V drift of a concept, against a real diffusers folder', () => {
    const tiny = tinyModelDir();
    const table = readWeight(path.join(tiny, 'text_encoder', 'model.safetensors'), 'text_model.embeddings.token_embedding.weight');
    const width = table.length / 49408;
    const row = (id: number) => table.slice(id * width, (id + 1) * width);
    const red = 736; // "red</w>" in the CLIP vocabulary
    const kName = 'mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight';
    const base = readWeight(path.join(tiny, 'unet', 'diffusion_pytorch_model.safetensors'), kName);
    const make = (kvStorage: 'weights' | 'delta', stored: Float32Array): DetexConcept => ({
      meta: { tokens: { subject: '<v>', pose: ['<v:p1>'], background: ['<v:b1>'] }, classWord: 'ball', numImages: 1, steps: 1, kvStorage } as unknown as ConceptMeta,
      subject: row(red).map((x) => 3 * x), pose: [row(red)], background: [row(red)],
      kv: new Map([[kName, hostTensor('float32', [base.length], stored)]]), mappers: new Map(),
    });
    const asWeights = inspectConcept(make('weights', base.map((x) => 1.1 * x)), tiny, 3);
    assert.strictEqual(asWeights.subject.nearest[0].word, 'red');
    assert.ok(Math.abs(asWeights.subject.nearest[0].cosine - 1) < 1e-5);
    assert.ok(Math.abs(asWeights.kvDrift[0].relative - 0.1) < 1e-5, `drift ${asWeights.kvDrift[0].relative}`);
    const asDelta = inspectConcept(make('delta', base.map((x) => 0.25 * x)), tiny, 3, ['red', 'blue', 'notaword']);
    assert.ok(Math.abs(asDelta.kvDrift[0].relative - 0.25) < 1e-5);
    assert.deepStrictEqual(asDelta.subject.nearest.map((w) => w.word), ['red', 'blue']);
    assert.deepStrictEqual(asDelta.notWholeWords, ['notaword']);
    const text = formatConceptReport(asDelta).join('\n');
    assert.match(text, /left out: notaword/);
    assert.match(text, /<v> \(norm [\d.]+\): red 1\.00, blue/);
    assert.match(text, /K\/V moved from the base: mean 25\.00 %, max 25\.00 % over 1 projections/);
    assert.throws(() => inspectConcept(make('weights', base), tiny, 3, ['notaword']), /none of notaword is a whole word/);
  });
});
