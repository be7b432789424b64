import { strict as assert } from 'assert';
import { hostTensor } from '../../lib/io/host-tensor';
import { highFrequencyShare, radialPowerSpectrum } from '../../lib/pretrain/latent-spectrum';
import { Rng } from '../../lib/random';

function grid(h: number, w: number, c: number, f: (y: number, x: number, ch: number) => number, b = 1) {
  const d = new Float32Array(b * h * w * c);
  for (let i = 0; i < b; i++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let ch = 0; ch < c; ch++) d[((i * h + y) * w + x) * c + ch] = f(y, x, ch) + i;
  return hostTensor('float32', [b, h, w, c], d);
}

describe('pretrain/latent-spectrum (how much of a latent is fine detail)', () => {
  it('puts a one-cycle wave at radius 1, a checkerboard in the top band, and ignores each map\'s mean', () => {
    const wave = radialPowerSpectrum(grid(16, 16, 2, (y, x) => Math.cos((2 * Math.PI * x) / 16) + 5, 3));
    assert.equal(wave.length, 9);
    const total = wave.reduce((a, v) => a + v, 0);
    assert.ok(wave[1] / total > 0.999, `radius-1 share ${wave[1] / total}`);
    assert.ok(highFrequencyShare(grid(16, 16, 2, (y, x) => Math.cos((2 * Math.PI * x) / 16))) < 1e-9);
    assert.ok(Math.abs(highFrequencyShare(grid(16, 16, 1, (y, x) => ((x + y) % 2 ? 1 : -1))) - 1) < 1e-9);
    assert.equal(highFrequencyShare(grid(8, 8, 4, () => 3)), 0);
  });

  it('keeps Parseval\'s total, and gives white noise a high share and a smoothed copy a lower one', () => {
    const rng = new Rng(4);
    const noise = hostTensor('float32', [2, 16, 16, 4], Float32Array.from(rng.normal([2 * 16 * 16 * 4])));
    let energy = 0;
    for (let i = 0; i < 2; i++) for (let c = 0; c < 4; c++) {
      let m = 0;
      for (let p = 0; p < 256; p++) m += noise.data[(i * 256 + p) * 4 + c] / 256;
      for (let p = 0; p < 256; p++) energy += (noise.data[(i * 256 + p) * 4 + c] - m) ** 2;
    }
    const bins = radialPowerSpectrum(noise);
    const sum = bins.reduce((a, v) => a + v, 0);
    assert.ok(Math.abs(sum / (256 * energy) - 1) < 1e-9, `Parseval ${sum} vs ${256 * energy}`);
    const white = highFrequencyShare(noise);
    assert.ok(white > 0.7 && white < 0.95, `white noise share ${white}`);
    // a 3×3 box blur keeps the low frequencies and damps the high ones
    const d = noise.data;
    const blurred = grid(16, 16, 4, (y, x, c) => {
      let s = 0;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) s += d[((((y + dy + 16) % 16) * 16 + ((x + dx + 16) % 16)) * 4) + c];
      return s / 9;
    });
    assert.ok(highFrequencyShare(blurred) < white / 2, `blurred ${highFrequencyShare(blurred)} vs white ${white}`);
  });

  it('refuses a tensor that is not [B, H, W, C]', () => {
    assert.throws(() => radialPowerSpectrum(hostTensor('float32', [16, 16], new Float32Array(256))), /expected \[B, H, W, C\], got \[16,16\]/);
  });
});
