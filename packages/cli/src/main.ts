#!/usr/bin/env node
/**
 * The `backchannel` command line. The verbs and their --json output are a contract
 * (PRODUCT.md, "Stable command-line contract").
 */
import { Command } from 'commander';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('backchannel')
    .description('Verifiable, end-to-end encrypted messaging through intermediaries.')
    .version('0.1.0')
    .showHelpAfterError();
  return program;
}

const isMain = import.meta.url === `file://${process.argv[1] ?? ''}` || process.argv[1]?.endsWith('/packages/cli/src/main.ts') === true;
if (isMain) {
  const program = buildProgram();
  if (process.argv.length <= 2) {
    program.outputHelp();
  } else {
    await program.parseAsync(process.argv);
  }
}
