import * as assert from 'assert';
import { spawnSync } from 'child_process';
import { fixturesDir, repoPath } from '../helpers/fixtures';
import { loadNativeKernels } from '../../lib/backend/native-kernels';

/**
 * `detex parity` over every shipped fixture, once per backend this machine has: the golden tolerances hold
 * whichever backend the package picks (each run is its own process, as the backend is chosen per process).
 */
describe('detex parity on every available backend', () => {
  const dir = fixturesDir();
  const backends: Array<[string, () => string | undefined]> = [
    ['wasm', () => undefined],
    ['cpu', () => (loadNativeKernels().loaded ? undefined : 'native kernels not built, so cpu would be the slow pure-JS backend')],
  ];
  for (const [backend, skipReason] of backends) {
    it(`should pass every fixture case with DETEX_BACKEND=${backend}`, function () {
      if (!dir) return this.skip();
      const why = skipReason();
      if (why) {
        console.log(`    (skipped: ${why})`);
        return this.skip();
      }
      const r = spawnSync(process.execPath, [repoPath('dist', 'lib', 'cli', 'main.js'), 'parity', dir], {
        env: { ...process.env, DETEX_BACKEND: backend },
        encoding: 'utf8',
        timeout: 300000,
      });
      const last = r.stdout.trim().split('\n').pop() ?? '';
      assert.strictEqual(r.status, 0, `parity failed on ${backend}:\n${r.stdout.split('\n').filter((l) => /FAIL/.test(l)).join('\n')}\n${r.stderr}`);
      assert.match(last, /^\d+ passed, 0 failed$/);
      assert.ok(Number(last.split(' ')[0]) >= 100, `only ${last}`);
    });
  }
});
