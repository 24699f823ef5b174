#!/usr/bin/env node
/**
 * The `backchannel` command line. The verbs, their --json output and the exit statuses are a
 * contract (PRODUCT.md, "Stable command-line contract"; docs/cli.md).
 *
 * Every failure takes one path (`run`'s catch): commander's usage errors, flag validation,
 * core and relay errors and anything unexpected become a stable code, one sentence on standard
 * error (or `{"error":{"code","message"}}` with --json) and an exit status. Stack traces only
 * with BACKCHANNEL_DEBUG=1.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { EXIT, describeError, usage } from './errors.js';
import { Output, write, type Io } from './output.js';
import type { Context } from './context.js';
import { registerCard } from './commands/card.js';
import { registerInit } from './commands/init.js';
import { registerServe } from './commands/serve.js';
import { registerTrust } from './commands/trust.js';
import { registerSend } from './commands/send.js';
import { registerSync } from './commands/sync.js';
import { registerNotes } from './commands/notes.js';
import { registerVerify } from './commands/verify.js';
import { registerChannels } from './commands/channels.js';
import { registerStation } from './commands/station-add.js';
import { registerSigner } from './commands/signer.js';
import { registerRotate } from './commands/rotate.js';
import { registerDemo } from './commands/demo.js';
import { registerStatement } from './commands/statement.js';
import { registerWitness } from './commands/witness.js';
import { registerExport } from './commands/export.js';

export const VERSION = '0.1.0';

export function buildProgram(ctx: Context): Command {
  const program = new Command();
  program
    .name('backchannel')
    .description('Verifiable, end-to-end encrypted messaging through intermediaries.')
    .version(VERSION)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.io.stdout.write(s),
      // Usage errors are reported once, by run(), as one sentence; commander's own text
      // (and the help it prints after an error) is dropped.
      writeErr: () => undefined,
      outputError: () => undefined,
    });
  registerInit(program, ctx);
  registerCard(program, ctx);
  registerTrust(program, ctx);
  registerServe(program, ctx);
  registerSend(program, ctx);
  registerSync(program, ctx);
  registerNotes(program, ctx);
  registerVerify(program, ctx);
  registerChannels(program, ctx);
  registerStation(program, ctx);
  registerSigner(program, ctx);
  registerRotate(program, ctx);
  registerDemo(program, ctx);
  registerStatement(program, ctx);
  registerWitness(program, ctx);
  registerExport(program, ctx);
  program.addHelpText(
    'after',
    `
Every command takes --home DIR (default: $BACKCHANNEL_HOME, else ~/.backchannel) and --json.
Passphrases come from BACKCHANNEL_PASSPHRASE (and BACKCHANNEL_ROOT_PASSPHRASE for a party's
root key) or are asked for on the terminal. Exit status: 0 success, 1 the operation failed,
2 bad usage, 3 misbehaviour found. See docs/cli.md.`,
  );
  return program;
}

/** True when --json appears among the options (before any "--"), even if parsing then fails. */
export function wantsJson(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--json') return true;
  }
  return false;
}

/** Commander's messages, reworded as one sentence without its "error:" prefix. */
function commanderMessage(e: CommanderError): string {
  if (e.code === 'commander.help' || e.message === '(outputHelp)') return "unknown or missing command; run 'backchannel --help' to see the commands";
  return e.message
    .replace(/^error:\s*/, '')
    .replace(/\s*\(Did you mean (.*)\?\)\s*$/s, '; did you mean $1?')
    .replace(/\s+/g, ' ')
    .replace(/\.\s+([A-Z])/g, (_m, c: string) => `; ${c.toLowerCase()}`); // one sentence
}

/** Runs the command line; resolves with the exit status. `argv` is process.argv's shape. */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  const args = argv.slice(2);
  const out = new Output(io, wantsJson(args));
  const ctx: Context = { io, out };
  const program = buildProgram(ctx);
  if (args.length === 0) {
    await write(io.stdout, program.helpInformation());
    return EXIT.ok;
  }
  try {
    await program.parseAsync([...argv]);
    await write(io.stdout, ''); // everything written before has been handed over
    return EXIT.ok;
  } catch (e) {
    let err: unknown = e;
    if (e instanceof CommanderError) {
      // --help and --version "fail" with status 0 after printing.
      if (e.exitCode === 0) {
        await write(io.stdout, '');
        return EXIT.ok;
      }
      err = usage(commanderMessage(e));
    }
    const report = describeError(err);
    await out.error(report, io.env.BACKCHANNEL_DEBUG === '1' ? debugText(e) : undefined);
    return report.exit;
  }
}

function debugText(e: unknown): string {
  const parts: string[] = [];
  let cur: unknown = e;
  for (let depth = 0; cur !== undefined && depth < 8; depth++) {
    parts.push(cur instanceof Error ? (cur.stack ?? `${cur.name}: ${cur.message}`) : typeof cur === 'string' ? cur : JSON.stringify(cur));
    cur = cur instanceof Error ? cur.cause : undefined;
    if (cur !== undefined) parts.push('Caused by:');
  }
  return parts.join('\n');
}

function isMain(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  const io: Io = { env: process.env, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
  // An error that escapes every await (a library's stray event, say, while `serve` runs) still
  // takes the single error path: one sentence, no stack trace unless BACKCHANNEL_DEBUG=1.
  const fatal = (e: unknown): void => {
    const report = describeError(e);
    void new Output(io, wantsJson(process.argv.slice(2)))
      .error(report, io.env.BACKCHANNEL_DEBUG === '1' ? debugText(e) : undefined)
      .finally(() => process.exit(report.exit));
  };
  // A reader that stops early (`backchannel card | head -1`) is not an error of ours.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(EXIT.ok);
    fatal(e);
  });
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  const code = await run(process.argv, io);
  // Exit explicitly: a database pool or a timer left by a library must not keep a finished
  // command alive. Output was flushed by the awaited writes.
  process.exit(code);
}
