/**
 * Every component's fixture runner. A component's runner is loaded lazily so that one broken or absent
 * component does not stop the others from being checked.
 */
import { CaseRunner } from '../runner';

const MODULES = ['unet', 'vae', 'scheduler', 'pipeline', 'clip-tokenizer', 'clip-text', 'clip-vision', 'sam', 'dino'];

export function loadRunners(warn: (line: string) => void = () => {}): CaseRunner[] {
  const runners: CaseRunner[] = [];
  for (const m of MODULES) {
    try {
      const mod = require(`./${m}`) as { runner?: CaseRunner; runners?: CaseRunner[] };
      if (mod.runner) runners.push(mod.runner);
      if (mod.runners) runners.push(...mod.runners);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'MODULE_NOT_FOUND' && err.message.includes(`/${m}'`)) continue; // component not implemented yet
      warn(`parity runner "${m}" failed to load: ${err.message.split('\n')[0]}`);
    }
  }
  return runners;
}
