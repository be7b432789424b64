/** Every case of the `dino-vits-tiny` fixture against the PyTorch goldens, with its own atol/rtol. */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { fixture } from '../../helpers/fixtures';
import { readSafetensors } from '../../../lib/io/safetensors';
import { HostTensor, asFloat32 } from '../../../lib/io/host-tensor';
import { DinoVisionTransformer } from '../../../lib/models/dino';
import { loadDinoFixtureModel, runDinoCase } from '../../../lib/parity/runners/dino';

interface Tol { shape: number[]; atol: number; rtol: number }
interface Case { name: string; file: string; inputs: Record<string, unknown>; expected: Record<string, Tol>; intermediates?: Record<string, Tol> }

/** Largest |a−e| and whether every element passes |a−e| ≤ atol + rtol·|e|. */
function compare(actual: HostTensor, expected: HostTensor, tol: Tol): { maxErr: number; ok: boolean; worst: string } {
  assert.deepEqual(actual.shape, expected.shape, 'shape');
  const a = asFloat32(actual);
  const e = asFloat32(expected);
  let maxErr = 0;
  let ok = true;
  let worst = '';
  for (let i = 0; i < e.length; i++) {
    const d = Math.abs(a[i] - e[i]);
    if (!(d <= tol.atol + tol.rtol * Math.abs(e[i]))) {
      if (ok) worst = `first failure at ${i}: ${a[i]} vs ${e[i]}`;
      ok = false;
    }
    if (!(d <= maxErr)) maxErr = d;
  }
  return { maxErr, ok, worst };
}

describe('models/dino parity (dino-vits-tiny)', function () {
  const dir = fixture('dino-vits-tiny');
  if (!dir) return;
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { cases: Case[] };
  let model: DinoVisionTransformer;
  let baseline = 0;

  before(() => {
    baseline = tf.memory().numTensors;
    const warnings: string[] = [];
    model = loadDinoFixtureModel(dir, (m) => warnings.push(m));
    assert.deepEqual(warnings, [], 'the fixture config and weights load without warnings');
  });
  after(() => {
    model.dispose();
    assert.equal(tf.memory().numTensors, baseline, 'model.dispose() frees every tensor');
  });

  for (const kase of manifest.cases) {
    it(`${kase.name}: image=[${(kase.inputs.image as Tol).shape}]`, () => {
      const { tensors } = readSafetensors(path.join(dir, kase.file));
      const all = { ...kase.expected, ...(kase.intermediates ?? {}) };
      const before = tf.memory().numTensors;
      const got = runDinoCase(model, tensors, Object.keys(all));
      assert.equal(tf.memory().numTensors, before, 'runDinoCase leaks no tensors');
      const report: string[] = [];
      for (const [name, tol] of Object.entries(all)) {
        const exp = tensors.get(name);
        assert.ok(exp, `case file lacks ${name}`);
        const r = compare(got[name], exp, tol);
        report.push(`${name} max|Δ|=${r.maxErr.toExponential(2)} (atol ${tol.atol})`);
        assert.ok(r.ok, `${kase.name}/${name}: ${r.worst}; max |Δ| ${r.maxErr} > atol ${tol.atol}`);
      }
      console.log(`      ${report.join('; ')}`);
    });
  }
});
