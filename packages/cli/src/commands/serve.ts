/**
 * `backchannel serve --home RELAY_HOME [--listen HOST:PORT] [--db URL]`
 *
 * Unlocks the log key, starts the relay (@backchannel/relay startRelay), prints where it
 * listens, and runs until SIGINT or SIGTERM, then closes cleanly (in-flight batches commit,
 * the database closes) and exits 0. On a party home, `serve` runs the station's console: not
 * built yet, so it says so (exit 1).
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { pino } from 'pino';
import { CliError } from '../errors.js';
import { formatListen, listenFromUrl, parseDbUrl, parseListen, redactDb, type Listen } from '../flags.js';
import { isPartyHome, isRelayHome, openHome, resolveDb, type Home, type RelayHomeJson } from '../home.js';
import { readRelayCard, unlockLogKey } from '../home-keys.js';
import { loadRelay } from '../relay.js';
import { homeDirOf, optionsOf, stringOption, withCommonOptions, type Context } from '../context.js';

/** How long a clean shutdown may take before the process gives up waiting and exits 1. */
const CLOSE_TIMEOUT_MS = 10_000;

export interface ServeInput {
  homeDir: string;
  listen: Listen | undefined;
  db: string | undefined;
}

export async function serveRelay(ctx: Context, home: Home<RelayHomeJson>, input: ServeInput): Promise<number> {
  const card = await readRelayCard(home);
  const listen = input.listen ?? listenFromUrl(home.json.url);
  const db = resolveDb(input.db ?? home.json.db, home.dir);
  // A missing SQLite file would be created empty: a second, forked log under the same origin
  // and key. Only `init relay` creates a relay's database.
  if (db.startsWith('sqlite:') && !existsSync(db.slice('sqlite:'.length))) {
    const path = db.slice('sqlite:'.length);
    throw input.db === undefined
      ? new CliError('home_invalid', `the home at ${home.dir} is damaged: its database ${path} is missing, and serving a new empty one would fork the relay's log`)
      : new CliError('file_not_found', `the database ${path} does not exist; only 'backchannel init relay' creates a relay's database`);
  }
  const level = ctx.io.env.BACKCHANNEL_LOG_LEVEL ?? 'info';
  if (!LOG_LEVELS.includes(level)) throw new CliError('usage', `BACKCHANNEL_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);
  const relay = await loadRelay();
  const logKey = await unlockLogKey(ctx, home, card);
  ctx.out.progress(`Starting relay ${home.json.id} on ${formatListen(listen)} with ${redactDb(db)}…`);
  // The relay's log goes to standard error: standard output carries the command's result.
  const logger = pino({ level, base: { relay: home.json.id } }, pino.destination({ fd: 2, sync: true }));
  // Listen for signals before starting, so one that comes during start-up still closes cleanly.
  const stop = onceSignalled();
  try {
    const running = await relay.startRelay({ id: home.json.id, name: home.json.name, url: home.json.url, origin: home.json.origin, logKey, card: card.json, db, listen, logger });
    await ctx.out.result(`Relay ${home.json.id} is serving at ${running.url} (Ctrl-C to stop).`, { serving: { relay: home.json.id, url: running.url, port: running.port } });
    const signal = await stop.signalled;
    ctx.out.progress(`Received ${signal}; stopping (again to quit at once)…`);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => {
        resolve('timeout');
      }, CLOSE_TIMEOUT_MS);
    });
    const outcome = await Promise.race([running.close().then(() => 'closed' as const), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') throw new CliError('internal', `the relay did not stop within ${CLOSE_TIMEOUT_MS / 1000} seconds after ${signal}`);
    ctx.out.progress('Stopped.');
    return 0;
  } finally {
    stop.dispose();
  }
}

const LOG_LEVELS: readonly string[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * Resolves with the first SIGINT or SIGTERM. Each handler fires once: a second Ctrl-C while
 * the relay closes meets Node's default handler and quits at once.
 */
function onceSignalled(): { signalled: Promise<NodeJS.Signals>; dispose: () => void } {
  let onSignal: (s: NodeJS.Signals) => void = () => undefined;
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    onSignal = (s) => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      resolve(s);
    };
  });
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signalled,
    dispose: () => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    },
  };
}

export function registerServe(program: Command, ctx: Context): void {
  withCommonOptions(
    program
      .command('serve')
      .description('relay: serve the relay API until SIGINT or SIGTERM (station: its console, not yet supported)')
      .option('--listen <host:port>', 'address to listen on, e.g. 127.0.0.1:7000 or [::1]:7000; port 0 picks a free port (default: the host and port of the relay’s URL)')
      .option('--db <url>', 'database to use instead of the home’s: sqlite:<path> or postgres://…'),
  ).action(async (...args: unknown[]) => {
    const o = optionsOf(args);
    const listen = stringOption(o, 'listen');
    const db = stringOption(o, 'db');
    const input: ServeInput = {
      homeDir: homeDirOf(ctx, o),
      listen: listen === undefined ? undefined : parseListen(listen),
      db: db === undefined ? undefined : parseDbUrl(db),
    };
    const home = await openHome(input.homeDir);
    if (isPartyHome(home)) throw new CliError('not_supported', `serve is not yet supported on a party home (${home.json.id}): the station's console is not built yet`);
    if (!isRelayHome(home)) throw new Error('unreachable: home.json was checked');
    await serveRelay(ctx, home, input);
  });
}
