import * as assert from 'assert';
import * as path from 'path';
import { AutoencoderKL } from '../../lib/models/vae/autoencoder-kl';
import { vaeRoundTrip } from '../../lib/pretrain/classifier-eval';
import {
  JITTER, augmentImage, classifierBatch, gaussianBlur, jitterPixel, labelIndices, resizeBilinear,
} from '../../lib/pretrain/classifier-data';
import { evalScenes } from '../../lib/pretrain/world-data';
import { Rng } from '../../lib/random';
import { COLOURS, PALETTE, PATTERNS, nearestColour, splitOf } from '../../lib/world';
import { worldAttributeLabels } from '../../lib/metrics/world-attributes';
import { expectNoLeak } from '../helpers/leak';

const ROOT = path.resolve(__dirname, '..', '..', '..');

describe('pretrain/classifier data', function () {
  this.timeout(120000);

  it('should keep every palette colour its name at every corner of the colour jitter', () => {
    // lit body pixels (shading 0.85–1.0) under the extremes of brightness, contrast (pivot: dark, mid or
    // bright image), per-channel gain and offset
    const corner = (r: readonly [number, number], bit: number) => r[bit];
    let checked = 0;
    for (const name of COLOURS) {
      for (const shade of [0.85, 1.0]) {
        const rgb = PALETTE[name].map((c) => Math.min(255, c * shade) / 255);
        for (const b of JITTER.brightness)
          for (const contrast of JITTER.contrast)
            for (const mean of [0.2, 0.5, 0.8])
              for (let gm = 0; gm < 8; gm++)
                for (let om = 0; om < 8; om++) {
                  const gain = [0, 1, 2].map((c) => corner(JITTER.channelGain, (gm >> c) & 1)) as [number, number, number];
                  const offset = [0, 1, 2].map((c) => corner(JITTER.offset, (om >> c) & 1)) as [number, number, number];
                  const o = jitterPixel(rgb, { brightness: b, contrast, gain, offset }, mean);
                  assert.strictEqual(nearestColour(o[0] * 255, o[1] * 255, o[2] * 255), name, `${name} ×${shade} b ${b} c ${contrast} g ${gain} o ${offset}`);
                  checked++;
                }
      }
    }
    assert.strictEqual(checked, 10 * 2 * 2 * 2 * 3 * 64);
  });

  it('should blur a constant image to itself and soften an edge; resize to the same size is the identity', () => {
    const s = 8;
    const flat = new Float32Array(s * s * 3).fill(0.3);
    gaussianBlur(flat, s, 1.1);
    for (const v of flat) assert.ok(Math.abs(v - 0.3) < 1e-6);
    const edge = new Float32Array(s * s * 3).map((_, i) => (Math.floor(i / 3) % s < s / 2 ? -1 : 1));
    const same = resizeBilinear(edge, s, s, s, s);
    assert.deepStrictEqual(Array.from(same), Array.from(edge));
    gaussianBlur(edge, s, 1);
    const row = (x: number) => edge[x * 3];
    assert.ok(row(3) > -1 && row(3) < 0 && row(4) > 0 && row(4) < 1, `${row(3)} ${row(4)}`);
    assert.ok(Math.abs(row(0) + 1) < 0.02 && Math.abs(row(7) - 1) < 0.02);
  });

  it('should augment within [−1, 1], deterministically per rng, and change the image', () => {
    const { images } = classifierBatch(new Rng(1), { batch: 1, augment: false });
    const a = images.slice();
    const b = images.slice();
    augmentImage(a, 64, new Rng(9), { soften: 1, noise: 1, jitter: 1 });
    augmentImage(b, 64, new Rng(9), { soften: 1, noise: 1, jitter: 1 });
    assert.deepStrictEqual(a, b);
    let diff = 0;
    for (let i = 0; i < a.length; i++) {
      assert.ok(a[i] >= -1 && a[i] <= 1);
      diff += Math.abs(a[i] - images[i]);
    }
    assert.ok(diff / a.length > 0.01, `mean change ${diff / a.length}`);
  });

  it('should draw train-split scenes with balanced patterns and labels in vocabulary order', () => {
    const b = classifierBatch(new Rng(3), { batch: 120, augment: false });
    const again = classifierBatch(new Rng(3), { batch: 120, augment: false });
    assert.deepStrictEqual(b.images, again.images);
    const vocab = worldAttributeLabels();
    b.scenes.forEach((s, i) => {
      assert.strictEqual(splitOf({ cls: s.attributes.class, colour: s.attributes.colour, pattern: s.attributes.pattern, secondary: s.attributes.secondary, detail: s.attributes.detail } as never), 'train');
      assert.strictEqual(vocab.class[b.labels.class[i]], s.attributes.class);
      assert.strictEqual(vocab.colour[b.labels.colour[i]], s.attributes.colour);
      assert.strictEqual(vocab.pattern[b.labels.pattern[i]], s.attributes.pattern);
      assert.strictEqual(vocab.background[b.labels.background[i]], s.attributes.background);
    });
    // uniform identities would make 'plain' ~4% of items; balanced sampling gives each pattern ~25%
    for (const p of PATTERNS) {
      const share = b.scenes.filter((s) => s.attributes.pattern === p).length / b.scenes.length;
      assert.ok(share > 0.12 && share < 0.4, `${p}: ${share}`);
    }
    assert.deepStrictEqual(labelIndices(b.scenes.slice(0, 5)).class, b.labels.class.slice(0, 5));
  });

  it('should round-trip renders through the detex-mini VAE without leaking tensors', async () => {
    const vae = AutoencoderKL.load(path.join(ROOT, 'models', 'detex-mini', 'vae'));
    try {
      const held = evalScenes(2, 5, { size: 64 }).scenes;
      const out = await expectNoLeak(() => vaeRoundTrip(vae, held.map((s) => s.image), 1));
      assert.strictEqual(out.length, 2);
      assert.deepStrictEqual(out[0].shape, [64, 64, 3]);
      assert.strictEqual(out[0].dtype, 'uint8');
      let err = 0;
      for (let i = 0; i < out[0].data.length; i++) err += Math.abs(out[0].data[i] - held[0].image.data[i]);
      const mae = err / out[0].data.length;
      assert.ok(mae > 0.5 && mae < 30, `mean abs error ${mae}`); // soft, but the same picture
    } finally {
      vae.dispose();
    }
  });
});
