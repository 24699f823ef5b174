/**
 * `backchannel init party …` and `backchannel init relay …`: create a home.
 */
import type { Command } from 'commander';
import { usage } from '../errors.js';
import { quote } from '../flags.js';
import type { Context } from '../context.js';
import { registerInitParty } from './init-party.js';
import { registerInitRelay } from './init-relay.js';

export function registerInit(program: Command, ctx: Context): void {
  const init = program.command('init').description('create a home: a party (init party ID) or a relay (init relay ID)');
  // Subcommands copy their parent's settings when created: register them before loosening
  // `init` itself, so they keep refusing unknown options and extra arguments.
  registerInitParty(init, ctx);
  registerInitRelay(init, ctx);
  init
    .allowUnknownOption()
    .allowExcessArguments()
    .action((...args: unknown[]) => {
      // Reached only when no known subcommand was named.
      const kind = (args[args.length - 1] as Command).args.find((a) => !a.startsWith('-'));
      throw usage(
        kind !== undefined
          ? `there is no kind of home called ${quote(kind)}: use "init party ID" or "init relay ID"`
          : 'say what to create: "init party ID --name NAME" or "init relay ID --name NAME"',
      );
    });
}
