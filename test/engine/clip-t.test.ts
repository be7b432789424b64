/**
 * evaluate's CLIP-T success path (and CLIP-I / CLIP-I(FG) with the same towers) on a tiny full CLIP folder assembled
 * from the clip-text-tiny and clip-vision-tiny fixtures plus a seeded text_projection, against an independent
 * computation: tokenizer → text tower → projection, CLIP processor → vision tower → projection, cosines.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { DetexSession, evaluate } from '../../lib/engine';
import { tinyModelDir } from '../../lib/models/default-model';
import { HostTensor, hostTensor } from '../../lib/io/host-tensor';
import { readSafetensors, writeSafetensors } from '../../lib/io/safetensors';
import { loadCLIPModel } from '../../lib/models/clip/loader';
import { CLIPImageProcessor } from '../../lib/models/clip/image-processor';
import { CLIPTokenizer } from '../../lib/models/clip/tokenizer';
import { disposeTextOutput } from '../../lib/models/clip/text-model';
import { disposeVisionOutput } from '../../lib/models/clip/vision-model';
import { Rng } from '../../lib/random';
import { fixture } from '../helpers/fixtures';
import { expectNoLeak } from '../helpers/leak';
import { disc } from './discs';
import { removeTempDir, tempDir } from '../helpers/temp-dir';

function cos(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) (ab += a[i] * b[i], aa += a[i] * a[i], bb += b[i] * b[i]);
  return ab / Math.sqrt(aa * bb);
}

describe('engine evaluate: CLIP-T and CLIP-I(FG) with a full CLIP folder', function () {
  this.timeout(60000);
  let clipDir: string;
  const textDir = fixture('clip-text-tiny');
  const visionDir = fixture('clip-vision-tiny');
  const tokDir = fixture('clip-tokenizer');

  before(function () {
    if (!textDir || !visionDir || !tokDir) this.skip();
    clipDir = tempDir('detex-clip-full-');
    const tensors = new Map<string, HostTensor>();
    for (const d of [textDir!, visionDir!]) for (const [k, v] of readSafetensors(path.join(d, 'model.safetensors')).tensors) tensors.set(k, v);
    // text hidden 32 → the vision tower's projection_dim 24, seeded N(0, 1/32)
    tensors.set('text_projection.weight', hostTensor('float32', [24, 32], Float32Array.from(new Rng(11).normal([24 * 32]), (v) => v / Math.sqrt(32))));
    tensors.set('logit_scale', hostTensor('float32', [], Float32Array.of(Math.log(100))));
    writeSafetensors(path.join(clipDir, 'model.safetensors'), tensors, { format: 'pt' });
    const text = JSON.parse(fs.readFileSync(path.join(textDir!, 'config.json'), 'utf8'));
    const vision = JSON.parse(fs.readFileSync(path.join(visionDir!, 'config.json'), 'utf8'));
    fs.writeFileSync(path.join(clipDir, 'config.json'), JSON.stringify({ architectures: ['CLIPModel'], model_type: 'clip', projection_dim: 24, text_config: text, vision_config: vision }));
    fs.copyFileSync(path.join(visionDir!, 'preprocessor', 'preprocessor_config.json'), path.join(clipDir, 'preprocessor_config.json'));
  });
  after(() => {
    if (clipDir) removeTempDir(clipDir);
  });

  it('should score CLIP-T on the prompt without pseudo-words, and CLIP-I / CLIP-I(FG) on plain / masked references, as computed apart', async () => {
    const gen = [disc(0).image, disc(2, 72).image];
    const refs = [disc(1), disc(-1)];
    const prompt = 'a <new1> ball with <new1:p1> view on the beach';
    const s = await DetexSession.open(tinyModelDir(), { clipDir, warn: () => undefined });
    let got;
    try {
      const req = { images: gen, references: refs.map((r) => r.image), referenceMasks: refs.map((r) => r.mask), prompt, metrics: ['clip-t', 'clip-i', 'clip-i-fg'] as const };
      await evaluate(s, { ...req, metrics: [...req.metrics] }); // loads the towers
      got = await expectNoLeak(() => evaluate(s, { ...req, metrics: [...req.metrics] }));
    } finally {
      await s.dispose();
    }

    // independently: the towers from the folder, the fixture tokenizer and processor, cosines in float64
    const clip = loadCLIPModel(clipDir, { warn: () => undefined });
    const tok = CLIPTokenizer.fromFolder(tokDir!);
    // the fixture ships the stock 224 preprocessor config: resize and crop to the tower's 64 instead
    const proc = CLIPImageProcessor.fromFile(path.join(visionDir!, 'preprocessor', 'preprocessor_config.json'), () => undefined).withSize(clip.vision.config.image_size);
    const textEmb = (t: string) => {
      const o = clip.text.forward(tok.call([t]).inputIds);
      const e = Array.from(o.textEmbeds!.dataSync());
      disposeTextOutput(o);
      return e;
    };
    const imageEmb = (img: HostTensor) => {
      const [h, w] = img.shape;
      const pv = proc.preprocess({ data: img.data as Uint8Array, width: w, height: h, channels: 3 }).pixelValues;
      const x = tf.tidy(() => tf.transpose(tf.tensor4d(pv.data as Float32Array, pv.shape as [number, number, number, number]), [0, 2, 3, 1]) as tf.Tensor4D);
      const o = clip.vision.forward(x);
      const e = Array.from(o.imageEmbeds!.dataSync());
      disposeVisionOutput(o);
      x.dispose();
      return e;
    };
    /** x·m with black elsewhere */
    const fg = (r: { image: HostTensor; mask: HostTensor }) => hostTensor('uint8', r.image.shape, Uint8Array.from(r.image.data as Uint8Array, (v, i) => (r.mask.data[Math.floor(i / 3)] ? v : 0)));
    try {
      const g = gen.map(imageEmb);
      assert.strictEqual(g[0].length, 24);
      const t = textEmb('a ball with view on the beach');
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const want = {
        'clip-t': mean(g.map((e) => cos(e, t))),
        'clip-i': mean(g.flatMap((e) => refs.map((r) => cos(e, imageEmb(r.image))))),
        'clip-i-fg': mean(g.flatMap((e) => refs.map((r) => cos(e, imageEmb(fg(r)))))),
      };
      for (const k of ['clip-t', 'clip-i', 'clip-i-fg'] as const) {
        assert.ok(Math.abs(got[k]! - want[k]) < 1e-5, `${k}: evaluate ${got[k]}, computed ${want[k]}`);
      }
      console.log(`      CLIP-T ${got['clip-t']!.toFixed(6)} (computed ${want['clip-t'].toFixed(6)}), CLIP-I ${got['clip-i']!.toFixed(6)}, CLIP-I(FG) ${got['clip-i-fg']!.toFixed(6)}; max |Δ| ${Math.max(...(['clip-t', 'clip-i', 'clip-i-fg'] as const).map((k) => Math.abs(got[k]! - want[k]))).toExponential(1)}`);
      // the checks can fail: the prompt with its pseudo-words, or unmasked references, score differently
      const raw = mean(g.map((e) => cos(e, textEmb(prompt))));
      assert.ok(Math.abs(raw - got['clip-t']!) > 1e-4, `CLIP-T with pseudo-words ${raw} vs ${got['clip-t']}`);
      assert.ok(Math.abs(want['clip-i'] - got['clip-i-fg']!) > 1e-4, 'the FG variant uses the masked references');
    } finally {
      clip.dispose();
    }
  });
});
