/**
 * Native kernels under a signal storm. oneDNN 2.x's JIT sgemm kernels point rsp at a heap buffer while
 * they run, so a signal arriving then wrote its frame over the heap: `node --cpu-prof` on a training
 * step aborted with "corrupted size vs. prev_size while consolidating" (native/src/signal-guard.h).
 * The child runs matmuls and fused attention for a few seconds while V8's profiler sends SIGPROF every
 * 50 µs; before the guard it died of SIGABRT within a second, every run.
 */
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { removeTempDir, tempDir } from '../helpers/temp-dir';

describe('native kernels while signals arrive (--cpu-prof)', function () {
  this.timeout(120000);

  it('survive V8 sampling the main thread inside sgemm every 50 µs', function () {
    const dir = tempDir('detex-sigprof-');
    try {
      const r = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-interval', '50', '--cpu-prof-dir', dir, path.join(__dirname, 'native-signals-child.js')], {
        encoding: 'utf8',
        env: { ...process.env, DETEX_SIGNAL_TEST_MS: '2500' },
        timeout: 100000,
      });
      const out = r.stdout ?? '';
      if (out.startsWith('skip')) {
        console.log(`    skipped: ${out.trim()}`);
        this.skip();
      }
      assert.strictEqual(r.signal, null, `child killed by ${r.signal}: ${(r.stderr ?? '').slice(-400)}`);
      assert.strictEqual(r.status, 0, `child exited ${r.status}: ${(r.stderr ?? '').slice(-400)}`);
      const m = /^ok (\d+) /m.exec(out);
      assert.ok(m, `child said: ${out}`);
      assert.ok(Number(m[1]) > 20, `only ${m[1]} kernel calls ran`);
      const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
      assert.strictEqual(files.length, 1, 'one profile written');
      const prof = JSON.parse(fs.readFileSync(path.join(dir, files[0]), 'utf8')) as { samples: number[] };
      assert.ok(prof.samples.length > 50, `${prof.samples.length} samples`);
    } finally {
      removeTempDir(dir);
    }
  });
});
