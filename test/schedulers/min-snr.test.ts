import * as assert from 'assert';
import { DDIMScheduler } from '../../lib/schedulers/ddim';
import { minSnrWeights } from '../../lib/schedulers/min-snr';

describe('schedulers/min-snr: minSnrWeights', () => {
  const sd = { beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012 } as const;

  it('should weight ε-prediction by min(SNR, γ)/SNR: 1 where SNR ≤ γ (noisy t), below 1 where the image is nearly clean', () => {
    const s = new DDIMScheduler(sd);
    const [early, late] = minSnrWeights(s, [0, 999], 5);
    const snr0 = s.alphasCumprod[0] / (1 - s.alphasCumprod[0]);
    assert.ok(snr0 > 5, `SNR at t=0 is ${snr0}`);
    assert.ok(Math.abs(early - 5 / snr0) < 1e-6 * early, `t=0 weight ${early} vs ${5 / snr0}`);
    assert.strictEqual(late, 1);
    // monotone in t: the weight never decreases as noise grows
    const all = minSnrWeights(s, Array.from({ length: 1000 }, (_, t) => t), 5);
    for (let t = 1; t < 1000; t++) assert.ok(all[t] >= all[t - 1] - 1e-7, `weight falls at t=${t}`);
  });

  it('should follow the prediction type (v: min(SNR,γ)/(SNR+1); x0: min(SNR,γ)) and reject bad input with the value', () => {
    const v = new DDIMScheduler({ ...sd, prediction_type: 'v_prediction' });
    const x0 = new DDIMScheduler({ ...sd, prediction_type: 'sample' });
    const a = v.alphasCumprod[500];
    const snr = a / (1 - a);
    assert.ok(Math.abs(minSnrWeights(v, [500], 5)[0] - Math.min(snr, 5) / (snr + 1)) < 1e-6);
    assert.ok(Math.abs(minSnrWeights(x0, [500], 5)[0] - Math.min(snr, 5)) < 1e-6);
    assert.throws(() => minSnrWeights(v, [1000]), /timestep 1000 outside \[0, 1000\)/);
    assert.throws(() => minSnrWeights(v, [1], 0), /gamma must be > 0, got 0/);
  });
});
