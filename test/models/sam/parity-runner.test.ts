import * as assert from 'assert';
import { runParity, formatResult } from '../../../lib/parity/engine';
import { runner } from '../../../lib/parity/runners/sam';
import { SamFixture } from './sam-fixture';

describe('parity/runners/sam (detex parity on sam-tiny)', function () {
  const fx = SamFixture.open();
  if (!fx) return;

  it('should pass every sam-tiny case with no tensor leak', async function () {
    this.timeout(120000);
    const report = await runParity(fx.dir, [runner]);
    const lines = report.results.flatMap(formatResult);
    assert.strictEqual(report.results.length, fx.cases.length, lines.join('\n'));
    assert.strictEqual(report.failed, 0, lines.join('\n'));
    assert.strictEqual(report.passed, fx.cases.length);
  });
});
