#!/usr/bin/env node
/** The `detex` command: one subcommand per file in this folder. */
import * as parity from './parity';
import * as info from './info';
import * as train from './train';
import * as demo from './demo';
import * as sample from './sample';
import * as evaluate from './eval';
import * as attention from './attention';
import * as concept from './concept';
import * as benchQuality from './bench-quality';
import { DEFAULT_MODEL_NAME } from '../models/default-model';

interface Command {
  usage: string;
  run(argv: string[]): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  parity: { usage: parity.usage, run: parity.parityCommand },
  info: { usage: info.usage, run: info.infoCommand },
  demo: { usage: demo.usage, run: demo.demoCommand },
  train: { usage: `detex ${train.usage}`, run: train.trainCommand },
  sample: { usage: `detex ${sample.usage}`, run: sample.sampleCommand },
  eval: { usage: `detex ${evaluate.usage}`, run: evaluate.evalCommand },
  attention: { usage: `detex ${attention.usage}`, run: attention.attentionCommand },
  concept: { usage: `detex ${concept.usage}`, run: concept.conceptCommand },
  bench: {
    usage: `detex ${benchQuality.usage}`,
    run: async (argv) => {
      if (argv[0] === 'quality') return benchQuality.benchQualityCommand(argv.slice(1));
      console.error(`detex bench: unknown subcommand "${argv[0] ?? ''}" (known: quality)\nusage: detex ${benchQuality.usage}`);
      return 2;
    },
  },
};

function help(): void {
  console.log('usage: detex <command> [options]\n');
  for (const c of Object.values(COMMANDS)) console.log(`  ${c.usage}`);
  console.log(`\nWithout --model, every command uses the embedded default model ${DEFAULT_MODEL_NAME} (models/${DEFAULT_MODEL_NAME}).`);
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    help();
    return name ? 0 : 2;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    console.error(`detex: unknown command "${name}"`);
    help();
    return 2;
  }
  return cmd.run(rest);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      console.error(`detex: ${err.message}`);
      process.exit(1);
    },
  );
}
