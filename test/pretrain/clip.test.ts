import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { CLIPTokenizer } from '../../lib/models/clip/tokenizer';
import { readSafetensors } from '../../lib/io/safetensors';
import { asFloat32 } from '../../lib/io/host-tensor';
import { exportComponent } from '../../lib/pretrain/export';
import { MINI_TEXT_CONFIG, MINI_VISION_CONFIG } from '../../lib/pretrain/clip-config';
import { ATTRIBUTES, attributePrompt, attributeValues, classContrastScenes, clipBatch } from '../../lib/pretrain/clip-data';
import { splitOf, parseSubjectId } from '../../lib/world';
import { LOGIT_SCALE, MiniClip, SUB_TABLE, sameTextTargets } from '../../lib/pretrain/clip-model';
import { zeroShotAccuracy } from '../../lib/pretrain/clip-eval';
import { Rng } from '../../lib/random';
import { expectNoLeak } from '../helpers/leak';
import { removeTempDir, tempDir } from '../helpers/temp-dir';

const TOKENIZER = path.resolve(__dirname, '..', '..', '..', 'models', 'detex-mini', 'tokenizer');

describe('pretrain clip', function () {
  this.timeout(120000);
  let clip: MiniClip;
  before(() => {
    clip = new MiniClip(CLIPTokenizer.fromFolder(TOKENIZER), 5);
  });
  after(() => clip.dispose());

  it('should spread soft targets evenly over items with the same text', () => {
    const t = sameTextTargets(['a ball', 'a cup', 'a ball']);
    assert.deepStrictEqual(Array.from(t), [0.5, 0, 0.5, 0, 1, 0, 0.5, 0, 0.5]);
  });

  it('should build class-contrast groups: same colour, pattern, background, different classes, train split only', () => {
    const scenes = classContrastScenes(new Rng(8), 6, 4, 32);
    assert.ok(scenes.length >= 12);
    for (const s of scenes) assert.strictEqual(splitOf(parseSubjectId(s.subjectId)), 'train');
    const key = (s: (typeof scenes)[number]) => `${s.attributes.colour}-${s.attributes.pattern}-${s.attributes.background}`;
    assert.strictEqual(key(scenes[0]), key(scenes[1]));
    assert.notStrictEqual(scenes[0].attributes.class, scenes[1].attributes.class);
    assert.strictEqual(clipBatch(new Rng(8), 8, 'train', 32, 1).scenes.length, 8, 'an all-contrast batch');
  });

  it('should cover every token of training texts and zero-shot prompts with the sub-table', () => {
    const b = clipBatch(new Rng(3), 24);
    const prompts = ATTRIBUTES.flatMap((a) => attributeValues(a).map((v) => attributePrompt(a, v)));
    const ids = clip.tokenize([...b.texts, ...prompts]);
    assert.ok(ids.flat().every((id) => clip.rows.includes(id)));
    assert.ok(clip.rows.length < 200, `${clip.rows.length} rows`);
  });

  it('should give a finite loss with gradients for the sub-table, temperature and both towers, without leaks', async () => {
    const b = clipBatch(new Rng(4), 6);
    await expectNoLeak(() => {
      const { value, grads } = tf.variableGrads(() => clip.loss(tf.tensor4d(b.pixels, [6, 64, 64, 3]), b.texts), [...clip.vars.values()]);
      assert.ok(Number.isFinite(value.dataSync()[0]));
      const named = (n: string) => grads[clip.vars.get(n)!.name];
      for (const n of [SUB_TABLE, LOGIT_SCALE, 'text_model.encoder.layers.0.self_attn.q_proj.weight', 'vision_model.embeddings.patch_embedding.weight', 'visual_projection.weight']) {
        assert.ok(named(n), `gradient for ${n}`);
        const mx = tf.tidy(() => tf.max(tf.abs(named(n))));
        assert.ok(mx.dataSync()[0] > 0, `nonzero gradient for ${n}`);
        mx.dispose();
      }
      value.dispose();
      Object.values(grads).forEach((g) => g.dispose());
    });
  });

  it('should add the attribute term (image vs every value prompt) when the truth is given', async () => {
    const b = clipBatch(new Rng(6), 4);
    await expectNoLeak(() => {
      const { value, grads } = tf.variableGrads(() => {
        const l = clip.losses(tf.tensor4d(b.pixels, [4, 64, 64, 3]), b.texts, b.scenes.map((s) => ({ ...s.attributes })));
        // chance level over 7/10/4/9 values bounds a fresh model's loss from below, roughly
        assert.ok(l.attribute!.dataSync()[0] > 1, 'attribute CE near chance at init');
        return tf.add(l.contrastive, l.attribute!) as tf.Scalar;
      }, [...clip.vars.values()]);
      assert.ok(Number.isFinite(value.dataSync()[0]));
      value.dispose();
      Object.values(grads).forEach((g) => g.dispose());
    });
  });

  it('should export the trained rows into the full token table and keep the others at init', () => {
    const table = clip.text.tokenTableName;
    const before = clip.text.store.tensor(table).dataSync().slice();
    const sub = clip.vars.get(SUB_TABLE)!;
    sub.assign(tf.tidy(() => tf.add(sub, 1)));
    clip.syncTokenTable();
    const dir = tempDir('detex-clip-export-');
    exportComponent(dir, MINI_TEXT_CONFIG, clip.text.store, { weightsFile: 'model.safetensors', dtype: 'F32' });
    const saved = asFloat32(readSafetensors(path.join(dir, 'model.safetensors')).tensors.get(table)!);
    const c = MINI_TEXT_CONFIG.hidden_size;
    const id = clip.rows[3];
    assert.ok(Math.abs(saved[id * c] - (before[id * c] + 1)) < 1e-5, 'trained row');
    const untouched = 1000;
    assert.ok(!clip.rows.includes(untouched));
    assert.strictEqual(saved[untouched * c], before[untouched * c], 'untrained row');
    removeTempDir(dir);
  });

  it('should load an exported pair into the same embeddings (clip.js --eval-model), and name a missing file', () => {
    clip.syncTokenTable();
    const dir = tempDir('detex-clip-pair-');
    exportComponent(path.join(dir, 'text_encoder'), MINI_TEXT_CONFIG, clip.text.store, { weightsFile: 'model.safetensors', dtype: 'F32' });
    exportComponent(path.join(dir, 'image_encoder'), MINI_VISION_CONFIG, clip.vision.store, { weightsFile: 'model.safetensors', dtype: 'F32' });
    const loaded = new MiniClip(CLIPTokenizer.fromFolder(TOKENIZER), 99, dir);
    const ids = clip.tokenize(['a photo of a red striped ball', 'a photo of a cup']);
    const pixels = tf.randomUniform([2, MINI_VISION_CONFIG.image_size, MINI_VISION_CONFIG.image_size, 3], -1, 1, 'float32', 3) as tf.Tensor4D;
    const pairs: Array<[tf.Tensor, tf.Tensor]> = [
      [clip.encodeText(ids), loaded.encodeText(ids)],
      [clip.encodeImage(pixels), loaded.encodeImage(pixels)],
    ];
    for (const [a, b] of pairs) assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]) < 1e-5);
    const fresh = new MiniClip(CLIPTokenizer.fromFolder(TOKENIZER), 98);
    const other = fresh.encodeText(ids);
    assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(pairs[0][0], other))).dataSync()[0]) > 1e-3, 'a fresh seed differs, so the match is the load');
    tf.dispose([pixels, other, ...pairs.flat()]);
    [loaded, fresh].forEach((m) => m.dispose());
    fs.rmSync(path.join(dir, 'image_encoder'), { recursive: true });
    assert.throws(() => new MiniClip(CLIPTokenizer.fromFolder(TOKENIZER), 97, dir), /image_encoder.model\.safetensors/);
    removeTempDir(dir);
  });

  it('should score zero-shot accuracy per attribute in [0, 1]', async () => {
    const scenes = clipBatch(new Rng(9), 8, 'heldout').scenes;
    const r = await expectNoLeak(() => zeroShotAccuracy(clip, scenes, 4));
    assert.strictEqual(r.n, 8);
    for (const a of ATTRIBUTES) assert.ok(r[a] >= 0 && r[a] <= 1);
  });
});
