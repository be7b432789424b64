/** Runs one fixture folder through the parity engine with one runner; returns the report. */
import { runParity, ParityReport } from '../../../lib/parity/engine';
import { CaseRunner } from '../../../lib/parity/runner';

export async function runFixture(dir: string, runner: CaseRunner): Promise<ParityReport> {
  return runParity(dir, [runner]);
}

/** "case tensor=err, …" for failed checks, to put in assertion messages. */
export function failures(report: ParityReport): string {
  return report.results
    .filter((r) => r.status !== 'pass')
    .map((r) => `${r.name}: ${r.error ?? ''} ${r.checks.filter((c) => !c.pass).map((c) => `${c.name} ${c.maxAbsErr} ${c.detail ?? ''}`).join('; ')}`)
    .join('\n');
}
