import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { UNet2DConditionModel } from '../../lib/models/unet/unet';
import { ParamStore } from '../../lib/nn/params';
import { seededInitializer } from '../../lib/nn/init';
import { readSafetensors } from '../../lib/io/safetensors';
import { initialiserRow } from '../../lib/pretrain/concept-keeper';
import { KEPT_PER_GROUP, detexPromptKeep, detexPromptStates } from '../../lib/pretrain/detex-prompt-keep';
import { TextConditioner } from '../../lib/pretrain/text-cond';
import { unetConfig } from '../../scripts/pretrain/unet-config';
import { expectNoLeak } from '../helpers/leak';
import { DETEX_MINI as MINI, pretrainScript, readRunLog } from '../helpers/pretrain-paths';
import { expectRefusal } from '../helpers/script-refusal';
import { tempDirs } from '../helpers/temp-dir';
import { tinyUNetFolder } from '../helpers/tiny-unet-folder';

const SCRIPT = pretrainScript('unet.js');
const hasMini = () => fs.existsSync(path.join(MINI, 'vae', 'diffusion_pytorch_model.safetensors'));

/** A seeded 16/32/32 UNet; `biasShift` moves every conv_out bias, so its noise prediction moves by exactly that. */
function tinyUNet(biasShift = 0): { unet: UNet2DConditionModel; store: ParamStore } {
  const store = ParamStore.initializing(seededInitializer(3));
  const unet = UNet2DConditionModel.fromConfig(unetConfig([16, 32, 32]) as never, store);
  if (biasShift !== 0) store.set('conv_out.bias', tf.add(store.tensor('conv_out.bias'), biasShift));
  return { unet, store };
}

describe('pretrain/detex-prompt-keep (the UNet answers DETEX prompts as a reference does)', function () {
  this.timeout(180000);
  const dirs = tempDirs();
  let text: TextConditioner | undefined;
  before(function () {
    if (!hasMini()) return;
    text = TextConditioner.load(MINI, path.join(MINI, 'tokenizer'));
  });
  after(() => text?.dispose());

  it('should encode the step\'s DETEX prompts as constants, the same for the same step and seed', async function () {
    if (!text) this.skip();
    const ce = text!.conceptEncoder();
    const init = initialiserRow(ce);
    await expectNoLeak(() => {
      const a = detexPromptStates(ce, init, 4, 11);
      const b = detexPromptStates(ce, init, 4, 11);
      const c = detexPromptStates(ce, init, 5, 11);
      try {
        assert.deepStrictEqual(a.shape, [2 * KEPT_PER_GROUP, 77, init.length]);
        assert.deepStrictEqual(a.dataSync(), b.dataSync(), 'a resumed run encodes the same prompts');
        const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, c))).dataSync()[0]);
        assert.ok(d > 1e-3, `another step draws other concepts (max difference ${d})`);
        // within a step the concepts differ from each other, so the term covers a spread of new vectors
        const spread = tf.tidy(() => tf.max(tf.abs(tf.sub(a.slice(0, 1), a.slice(1, 1)))).dataSync()[0]);
        assert.ok(spread > 1e-3, `two concepts of one step encode alike (${spread})`);
      } finally {
        [a, b, c].forEach((t) => t.dispose());
      }
      assert.throws(() => detexPromptStates(ce, init, 0, 1, 1), /perGroup must be an integer ≥ 2, got 1/);
    });
  });

  it('should be zero against itself, the squared shift against a shifted reference, with gradients for the trained UNet only', async function () {
    if (!text) this.skip();
    const ce = text!.conceptEncoder();
    const init = initialiserRow(ce);
    const { unet: trained, store } = tinyUNet();
    const vars = store.makeTrainable(() => true);
    const same = tinyUNet().unet;
    const shifted = tinyUNet(0.1).unet;
    try {
      await expectNoLeak(() => {
        const states = detexPromptStates(ce, init, 0, 7);
        const noisy = tf.randomNormal([10, 16, 16, 4], 0, 1, 'float32', 5) as tf.Tensor4D;
        const t = [10, 200, 400, 600, 800, 999, 50, 300, 1, 2];
        try {
          const zero = detexPromptKeep(trained, same, noisy, t, states);
          assert.ok(zero.dataSync()[0] < 1e-10, `identical UNets differ by ${zero.dataSync()[0]}`);
          zero.dispose();
          const moved = detexPromptKeep(trained, shifted, noisy, t, states);
          assert.ok(Math.abs(moved.dataSync()[0] - 0.01) < 1e-5, `a 0.1 shift of the reference gives ${moved.dataSync()[0]}, not 0.01`);
          moved.dispose();
          const { value, grads } = tf.variableGrads(() => detexPromptKeep(trained, shifted, noisy, t, states), [...vars.values()]);
          value.dispose();
          assert.strictEqual(Object.keys(grads).length, vars.size);
          const g = grads[vars.get('conv_out.bias')!.name];
          // d/db mean((b − b_ref)²) = 2·(−0.1)/4 per channel: the gradient pulls the bias toward the reference's
          assert.ok(g.dataSync().every((x) => Math.abs(x + 0.05) < 1e-5), `conv_out.bias gradient ${Array.from(g.dataSync())}`);
          Object.values(grads).forEach((x) => x.dispose());
          const few = tf.slice(noisy, 0, 3) as tf.Tensor4D;
          assert.throws(() => detexPromptKeep(trained, same, few, t, states), /8 prompts need at least 8 noisy latents and timesteps, got 3 and 10/);
          few.dispose();
        } finally {
          states.dispose();
          noisy.dispose();
        }
      });
    } finally {
      [trained, same, shifted].forEach((u) => u.dispose());
    }
  });

  it('should train with --detex-keep DIR, log the term and record its weight', function () {
    if (!hasMini()) this.skip();
    const out = dirs('detex-unet-keep-');
    tinyUNetFolder(out, MINI, [16, 32, 32]);
    const reference = dirs('detex-unet-keep-ref-');
    tinyUNetFolder(reference, MINI, [16, 32, 32]);
    const cache = dirs('detex-unet-keep-cache-');
    const args = ['--out', out, '--cache', cache, '--channels', '16,32,32', '--batch', '8', '--warmup', '1', '--lr', '1e-3', '--warm-start', '--steps', '2'];
    const log = execFileSync(process.execPath, [SCRIPT, ...args, '--detex-keep', reference, '--detex-keep-weight', '0.5'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.match(log, /detex keep: 0\.5 × the noise .* predicts under DETEX's prompts/);
    // the reference is the starting UNet, so the first step's term is zero and the second's is not
    const terms = readRunLog(cache).map((l) => Number(l.detexKeep));
    assert.strictEqual(terms.length, 2, log);
    assert.ok(terms[0] < 1e-9 && terms[1] > 0, `detexKeep ${terms.join(', ')}`);
    assert.strictEqual(readSafetensors(path.join(cache, 'checkpoint.safetensors')).metadata.detexKeep, '0.5');
  });

  it('should refuse a missing reference, a weight without one, and a batch too small for its prompts', function () {
    if (!hasMini()) this.skip();
    const out = dirs('detex-unet-keep-bad-');
    tinyUNetFolder(out, MINI, [16, 32, 32]);
    const args = (extra: string[]) => ['--out', out, '--cache', dirs('detex-unet-keep-bad-cache-'), '--channels', '16,32,32', '--batch', '8', '--warm-start', '--steps', '1', ...extra];
    expectRefusal(SCRIPT, args(['--detex-keep', path.join(out, 'nowhere')]), /--detex-keep.*nowhere/);
    expectRefusal(SCRIPT, args(['--detex-keep-weight', '2']), /--detex-keep-weight needs --detex-keep DIR/);
    expectRefusal(SCRIPT, args(['--detex-keep', out, '--detex-keep-weight', '0']), /--detex-keep-weight must be a number > 0, got '0'/);
    expectRefusal(SCRIPT, [...args(['--detex-keep', out]), '--batch', '4'], /--detex-keep compares 8 prompts on the batch's noisy latents; --batch must be ≥ 8, got 4/);
  });
});
