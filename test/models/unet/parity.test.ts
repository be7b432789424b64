/** Every `component: "unet"` case of the sd-tiny fixture against diffusers' goldens, with its own atol/rtol. */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { fixture } from '../../helpers/fixtures';
import { readSafetensors } from '../../../lib/io/safetensors';
import { ManifestCase } from '../../../lib/parity/manifest';
import { compareTensor } from '../../../lib/parity/compare';
import { loadUNetFixtureModel, runUNetCase } from '../../../lib/parity/runners/unet';
import { moduleFacts } from '../../../lib/models/unet/module-facts';

describe('models/unet parity (sd-tiny)', function () {
  const dir = fixture('sd-tiny');
  if (!dir) return;
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as {
    cases: ManifestCase[];
    module_facts: { unet: Record<string, Record<string, unknown>> };
  };
  const cases = manifest.cases.filter((c) => c.component === 'unet');

  it('should load unet/ with no warnings and no unused weights', () => {
    const before = tf.memory().numTensors;
    const warnings: string[] = [];
    const model = loadUNetFixtureModel(dir, (m) => warnings.push(m));
    assert.deepEqual(warnings, []);
    assert.deepEqual(model.store.unusedKeys(), []);
    model.dispose();
    assert.equal(tf.memory().numTensors, before, 'dispose() frees every weight');
  });

  it("should match the manifest's module_facts (GroupNorm groups/eps, LayerNorm eps, attention heads/scale)", () => {
    const model = loadUNetFixtureModel(dir);
    try {
      const facts = moduleFacts(model);
      const expected = manifest.module_facts.unet;
      assert.deepEqual(Object.keys(facts).sort(), Object.keys(expected).sort(), 'the same set of norm / attention modules');
      for (const [name, e] of Object.entries(expected)) {
        const f = facts[name] as unknown as Record<string, unknown>;
        assert.equal(f.type, e.type, name);
        const keys = e.type === 'GroupNorm' ? ['num_groups', 'num_channels', 'eps'] : e.type === 'LayerNorm' ? ['shape', 'eps'] : ['heads', 'head_dim'];
        for (const k of keys) assert.deepEqual(f[k], e[k], `${name}.${k}`);
        if (e.type === 'Attention') assert.ok(Math.abs((f.scale as number) - (e.scale as number)) < 1e-12, `${name}.scale`);
      }
    } finally {
      model.dispose();
    }
  });

  for (const kase of cases) {
    it(`${kase.name}: sample=[${kase.inputs?.sample?.shape}] t=${JSON.stringify(kase.args?.timestep)} within the manifest's tolerances`, () => {
      const { tensors } = readSafetensors(path.join(dir, kase.file!));
      const all = { ...(kase.expected ?? {}), ...(kase.intermediates ?? {}) };
      const model = loadUNetFixtureModel(dir);
      const before = tf.memory().numTensors;
      let got;
      try {
        got = runUNetCase(model, (n) => tensors.get(n)!, Object.keys(all));
        // makeTrainable swaps tensors for variables one-for-one, so the count is unchanged
        assert.equal(tf.memory().numTensors, before, 'runUNetCase leaks no tensors');
      } finally {
        model.dispose();
      }
      const report: string[] = [];
      let ok = true;
      for (const [name, spec] of Object.entries(all)) {
        const c = compareTensor(name, got.get(name), tensors.get(name)!, spec);
        report.push(`${c.pass ? 'ok  ' : 'FAIL'} ${name}: max err ${c.maxAbsErr.toExponential(2)} (${c.tolerance})${c.detail ? ' ' + c.detail : ''}`);
        ok &&= c.pass;
      }
      console.log(report.map((l) => `      ${l}`).join('\n'));
      assert.ok(ok, report.filter((l) => l.startsWith('FAIL')).join('\n'));
    });
  }
});
