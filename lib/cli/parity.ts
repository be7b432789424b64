/** `detex parity <fixture-dir> [--case NAME]…`: golden-fixture parity of every implemented component. */
import { parseArgs } from 'util';
import { initBackend } from '../backend';
import { runParity, formatResult } from '../parity/engine';
import { loadRunners } from '../parity/runners';

export const usage = 'detex parity <fixture-dir> [--case NAME ...]   run golden cases (a folder with manifest.json, or a folder of them)';

export async function parityCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { case: { type: 'string', multiple: true } } });
  if (positionals.length !== 1) {
    console.error(`usage: ${usage}`);
    return 2;
  }
  await initBackend();
  const only = values.case;
  const runners = loadRunners((w) => console.error(`warning: ${w}`));
  const report = await runParity(positionals[0], runners, (r) => formatResult(r).forEach((l) => console.log(l)), only ? (_f, c) => only.includes(c) : undefined);
  console.log(`${report.passed} passed, ${report.failed} failed${report.skipped ? `, ${report.skipped} skipped` : ''}`);
  return report.failed > 0 ? 1 : 0;
}
