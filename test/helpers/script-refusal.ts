import * as assert from 'assert';
import { execFileSync } from 'child_process';

/**
 * Runs a built script that must refuse its arguments: it exits non-zero and its stderr matches `message`. A
 * mismatch fails with the stderr the script did print, so a changed message is read, not guessed.
 */
export function expectRefusal(script: string, args: string[], message: RegExp): void {
  assert.throws(
    () => execFileSync(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }),
    (e: Error & { stderr?: Buffer }) => message.test(String(e.stderr)) || assert.fail(`stderr does not match ${message}:\n${String(e.stderr)}`),
  );
}
