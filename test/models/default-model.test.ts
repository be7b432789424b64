/**
 * Which folder an empty model setting means: detex-mini, the same for lib, the engine and the nodes; detex-tiny
 * stays reachable by name for fast tests. Reads configs and opens sessions only (no weights are loaded).
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import {
  DEFAULT_MODEL_NAME, TINY_MODEL_NAME, defaultModelDir, embeddedModelDir, modelNote, resolveModelDir, tinyModelDir,
} from '../../lib/models/default-model';
import { DetexSession } from '../../lib/engine';
import { defaultModelFolder, modelFolderFrom } from '../../nodes/shared/model-folder';
import { repoPath } from '../helpers/fixtures';

function json(file: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
}

describe('embedded default model', () => {
  it('should be models/detex-mini, for lib, the engine and the nodes alike', async () => {
    assert.strictEqual(DEFAULT_MODEL_NAME, 'detex-mini');
    assert.strictEqual(defaultModelDir(), repoPath('models', 'detex-mini'));
    for (const empty of [undefined, '', '   ']) assert.strictEqual(resolveModelDir(empty), defaultModelDir());
    for (const empty of [undefined, null, '', '  ', 42]) assert.strictEqual(modelFolderFrom(empty), defaultModelDir(), `node setting ${String(empty)}`);
    assert.strictEqual(defaultModelFolder(), defaultModelDir());
    const s = await DetexSession.open(undefined, { warn: () => undefined });
    try {
      assert.strictEqual(s.folder, defaultModelDir());
    } finally {
      await s.dispose();
    }
  });

  it('should keep a configured folder, resolved, and detex-tiny by its own name', () => {
    assert.strictEqual(resolveModelDir(' rel/model '), path.resolve('rel/model'));
    assert.strictEqual(modelFolderFrom('/abs/model'), '/abs/model');
    assert.strictEqual(tinyModelDir(), repoPath('models', TINY_MODEL_NAME));
    assert.notStrictEqual(tinyModelDir(), defaultModelDir());
    assert.match(modelNote(tinyModelDir()) ?? '', /^detex-tiny: random weights/);
    assert.match(modelNote(defaultModelDir()) ?? '', /^detex-mini: pretrained on the procedural world/);
    assert.strictEqual(modelNote('/no/such/model'), undefined);
  });

  it('should name a missing embedded model and say what to do', () => {
    assert.throws(() => embeddedModelDir('detex-nope'), /embedded model "detex-nope" is missing from the package \(models\/detex-nope\/model_index\.json\).*configure a model folder/);
  });

  it('should be a complete 64 px DETEX model: 16×16×4 latents, text width = cross-attention width, SAM and image encoder at 64 px', () => {
    const dir = defaultModelDir();
    const index = json(path.join(dir, 'model_index.json'));
    for (const c of ['unet', 'vae', 'text_encoder', 'tokenizer', 'scheduler', 'image_encoder', 'sam']) {
      assert.ok(Array.isArray(index[c]) && fs.existsSync(path.join(dir, c)), `component ${c}`);
    }
    const unet = json(path.join(dir, 'unet', 'config.json'));
    const vae = json(path.join(dir, 'vae', 'config.json'));
    const text = json(path.join(dir, 'text_encoder', 'config.json'));
    const vaeFactor = 2 ** ((vae.block_out_channels as number[]).length - 1);
    assert.deepStrictEqual([unet.sample_size, vaeFactor, unet.in_channels, vae.latent_channels], [16, 4, 4, 4]);
    assert.strictEqual((unet.sample_size as number) * vaeFactor, 64);
    assert.strictEqual(text.hidden_size, unet.cross_attention_dim);
    assert.strictEqual(json(path.join(dir, 'sam', 'config.json')).image_size, 64);
    assert.strictEqual(json(path.join(dir, 'image_encoder', 'config.json')).image_size, 64);
  });
});
