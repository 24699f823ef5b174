/**
 * What every command receives, and the options every command takes. Commander hands actions
 * untyped option bags; the readers here check each value's type once, at the edge.
 */
import type { Command } from 'commander';
import { resolveHomeDir } from './home.js';
import type { Io, Output } from './output.js';

export interface Context {
  io: Io;
  out: Output;
}

/** `--home` and `--json`, on every command (PRODUCT.md). */
export function withCommonOptions(cmd: Command): Command {
  return cmd
    .option('--home <dir>', 'home folder: whose keys and data are used (default: $BACKCHANNEL_HOME, else ~/.backchannel)')
    .option('--json', 'print the result as JSON, and errors as {"error":{"code","message"}}');
}

/** The options of the command an action runs for (commander passes it last). */
export function optionsOf(args: readonly unknown[]): Record<string, unknown> {
  const cmd = args[args.length - 1] as Command;
  return cmd.opts();
}

export function stringOption(o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  return typeof v === 'string' ? v : undefined;
}

export function listOption(o: Record<string, unknown>, key: string): string[] {
  const v = o[key];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

export function flagOption(o: Record<string, unknown>, key: string): boolean {
  return o[key] === true;
}

/** Collects a repeatable option's values in order. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function homeDirOf(ctx: Context, o: Record<string, unknown>): string {
  return resolveHomeDir(stringOption(o, 'home'), ctx.io.env);
}
