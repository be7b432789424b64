import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import {
  aheadDir, loopStepRng, produceAhead, pruneAhead, readCursor, stepBatch, takeAheadBatch, writeAheadBatch, writeCursor,
} from '../../lib/pretrain/encode-ahead';
import { runLoop } from '../../lib/pretrain/loop';
import { defaultModelDir } from '../../lib/models/default-model';
import { AutoencoderKL } from '../../lib/models/vae/autoencoder-kl';
import { parseSceneFilter } from '../../lib/world/scene-filter';
import { expectNoLeak } from '../helpers/leak';
import { tempDir } from '../helpers/temp-dir';

describe('pretrain/encode-ahead (UNet batches encoded by a second process)', function () {
  this.timeout(120000);
  const o = { batch: 2, size: 64 };
  let vae: AutoencoderKL;
  before(() => {
    vae = AutoencoderKL.load(path.join(defaultModelDir(), 'vae'));
  });
  after(() => vae.dispose());

  it("should derive each step's rng as runLoop does (the producer must draw the trainer's data)", async () => {
    const v = tf.variable(tf.scalar(1));
    const seen: number[][] = [];
    await runLoop({
      dir: tempDir('detex-ahead-loop-'), vars: new Map([['w', v]]), seed: 41,
      schedule: { lr: 1e-3, warmupSteps: 0, totalSteps: 3, minRatio: 1 }, checkpointEvery: 100,
      loss: ({ step, rng }) => {
        seen.push([step, rng.fork('data').nextDouble()]);
        return { loss: tf.mul(v, v) as tf.Scalar };
      },
    });
    v.dispose();
    assert.deepStrictEqual(seen, [1, 2, 3].map((s) => [s, loopStepRng(41, s).fork('data').nextDouble()]));
  });

  it('should hand the trainer exactly the batch it would encode inline for that step, once', async () => {
    const dir = aheadDir(tempDir('detex-ahead-'));
    await expectNoLeak(async () => {
      writeCursor(dir, 4);
      let idled = false;
      const written = await produceAhead(vae, { ...o, dir, seed: 9, vaeId: 'v1', ahead: 2, until: 100, stop: () => idled, idle: async () => { idled = true; } });
      assert.strictEqual(written, 2);
      assert.deepStrictEqual(fs.readdirSync(dir).sort(), ['cursor', 'step-0000005.safetensors', 'step-0000006.safetensors']);
      const inline = stepBatch(vae, loopStepRng(9, 5), o);
      const taken = takeAheadBatch(dir, 5, 'v1', o)!;
      assert.deepStrictEqual(taken.captions, inline.captions);
      assert.deepStrictEqual(Array.from(taken.masks.data), Array.from(inline.masks.data));
      assert.deepStrictEqual(taken.latents.shape, inline.latents.shape);
      assert.strictEqual(tf.tidy(() => tf.max(tf.abs(tf.sub(taken.latents, inline.latents))).dataSync()[0]), 0);
      // a different step's rng gives a different batch, and a taken file is gone
      const other = stepBatch(vae, loopStepRng(9, 6), o);
      assert.notDeepStrictEqual(other.captions.concat(Array.from(other.latents.dataSync().slice(0, 8)).map(String)), inline.captions.concat(Array.from(inline.latents.dataSync().slice(0, 8)).map(String)));
      assert.strictEqual(takeAheadBatch(dir, 5, 'v1', o), undefined);
      for (const b of [inline, taken, other]) b.latents.dispose();
    });
  });

  it('should ignore (and remove) a batch made with another VAE, batch size, close-up fraction, scene filter or pattern-set choice, or unreadable, and prune passed steps', async () => {
    const dir = aheadDir(tempDir('detex-ahead-'));
    await expectNoLeak(() => {
      const b = stepBatch(vae, loopStepRng(1, 3), o);
      writeAheadBatch(dir, 3, b, 'old-vae');
      writeAheadBatch(dir, 4, b, 'v1');
      writeAheadBatch(dir, 8, b, 'v1');
      b.latents.dispose();
    });
    assert.strictEqual(takeAheadBatch(dir, 3, 'v1', o), undefined);
    assert.ok(!fs.existsSync(path.join(dir, 'step-0000003.safetensors')));
    assert.strictEqual(takeAheadBatch(dir, 4, 'v1', { batch: 3, size: 64 }), undefined);
    // a batch drawn with another close-up fraction is another step's data
    await expectNoLeak(() => {
      const b = stepBatch(vae, loopStepRng(1, 6), o);
      writeAheadBatch(dir, 6, b, 'v1', { closeUps: 0.5 });
      writeAheadBatch(dir, 7, b, 'v1', { closeUps: 0.5 });
      writeAheadBatch(dir, 9, b, 'v1', { only: parseSceneFilter('class=ball') });
      writeAheadBatch(dir, 10, b, 'v1', { only: parseSceneFilter('class=ball') });
      writeAheadBatch(dir, 11, b, 'v1', { patternSets: true });
      b.latents.dispose();
      const sets = stepBatch(vae, loopStepRng(1, 12), { ...o, batch: 4, patternSets: true });
      writeAheadBatch(dir, 12, sets, 'v1', { patternSets: true });
      writeAheadBatch(dir, 13, { ...sets, patternRegions: undefined }, 'v1', { patternSets: true });
      sets.latents.dispose();
    });
    assert.strictEqual(takeAheadBatch(dir, 6, 'v1', o), undefined);
    const mixed = takeAheadBatch(dir, 7, 'v1', { ...o, closeUps: 0.5 });
    assert.ok(mixed, 'the same fraction is taken');
    mixed.latents.dispose();
    // and one drawn from a narrowed world is too
    assert.strictEqual(takeAheadBatch(dir, 9, 'v1', o), undefined);
    const narrowed = takeAheadBatch(dir, 10, 'v1', { ...o, only: parseSceneFilter('class=ball') });
    assert.ok(narrowed, 'the same filter is taken');
    narrowed.latents.dispose();
    // pattern sets are another draw of the step's scenes
    assert.strictEqual(takeAheadBatch(dir, 11, 'v1', o), undefined);
    const inline = stepBatch(vae, loopStepRng(1, 12), { ...o, batch: 4, patternSets: true });
    const sets = takeAheadBatch(dir, 12, 'v1', { ...o, batch: 4, patternSets: true });
    assert.ok(sets, 'the same choice is taken');
    assert.deepStrictEqual(sets.patternRegions, inline.patternRegions, 'with where each pattern shows');
    tf.dispose([sets.latents, inline.latents]);
    assert.strictEqual(takeAheadBatch(dir, 13, 'v1', { ...o, batch: 4, patternSets: true }), undefined, 'a set batch without its regions');
    fs.writeFileSync(path.join(dir, 'step-0000005.safetensors'), 'not a safetensors file');
    assert.strictEqual(takeAheadBatch(dir, 5, 'v1', o), undefined);
    pruneAhead(dir, 8);
    assert.deepStrictEqual(fs.readdirSync(dir), ['step-0000008.safetensors']);
  });

  it('should not write a step the trainer has already started, and stop at `until`', async () => {
    const dir = aheadDir(tempDir('detex-ahead-'));
    writeCursor(dir, 10);
    assert.strictEqual(readCursor(dir), 10);
    const written = await produceAhead(vae, { ...o, dir, seed: 9, vaeId: 'v1', ahead: 4, until: 10, stop: () => false });
    assert.strictEqual(written, 0);
    assert.deepStrictEqual(fs.readdirSync(dir), ['cursor']);
  });
});
