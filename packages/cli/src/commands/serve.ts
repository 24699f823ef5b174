/**
 * `backchannel serve --home RELAY_HOME [--listen HOST:PORT] [--db URL] [--admin-listen HOST:PORT]`
 *
 * Unlocks the log key, starts the relay (@backchannel/relay startRelay), prints where it
 * listens, and runs until SIGINT or SIGTERM, then closes cleanly (in-flight batches commit,
 * the database closes) and exits 0. With --tls-cert/--tls-key the relay serves HTTPS. On a
 * party home, `serve` runs the station daemon (serve-station.ts). With --admin-listen the relay
 * also serves its operator console (metadata only) on that separate, loopback address, and
 * prints the console's login token.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { pino } from 'pino';
import { CliError } from '../errors.js';
import { formatListen, listenFromUrl, parseDbUrl, parseListen, parseTimeScale, redactDb, type Listen } from '../flags.js';
import { serveStation } from './serve-station.js';
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
  /** PEM certificate and key: the relay serves HTTPS. */
  tls?: { cert: Buffer; key: Buffer };
  /** The operator console's listener (loopback unless allowNonLoopback). */
  adminListen?: Listen & { allowNonLoopback: boolean };
  /** Verify each envelope's station signature on submission besides its token. */
  verifyEnvelopeSignature?: boolean;
}

/** The station daemon's defaults: a heartbeat every 10 minutes, a deadline sweep every 30 s. */
export const DEFAULT_HEARTBEAT_S = 600;
export const DEFAULT_CHECK_S = 30;

function parseSeconds(value: string, flag: string): number {
  if (!/^(?:0|[1-9][0-9]{0,6})$/.test(value)) throw new CliError('usage', `${flag} must be a whole number of seconds from 0 to 9999999`);
  return Number(value);
}

async function readTlsFile(path: string, flag: string): Promise<Buffer> {
  try {
    const b = await readFile(path);
    if (!b.toString('latin1').includes('-----BEGIN ')) throw new CliError('usage', `${flag} ${path} is not a PEM file`);
    return b;
  } catch (e) {
    const errno = (e as { code?: unknown }).code;
    if (errno === 'ENOENT') throw new CliError('file_not_found', `the ${flag} file ${path} does not exist`, { cause: e });
    throw e;
  }
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
  if (input.tls !== undefined && home.json.url.startsWith('http://')) ctx.out.warn(`relay ${home.json.id}'s card names ${home.json.url}, but it serves HTTPS: stations reach it by its card's URL`);
  const relay = await loadRelay();
  const logKey = await unlockLogKey(ctx, home, card);
  ctx.out.progress(`Starting relay ${home.json.id} on ${formatListen(listen)} with ${redactDb(db)}…`);
  // The relay's log goes to standard error: standard output carries the command's result.
  const logger = pino({ level, base: { relay: home.json.id } }, pino.destination({ fd: 2, sync: true }));
  // Listen for signals before starting, so one that comes during start-up still closes cleanly.
  const stop = onceSignalled();
  try {
    const running = await relay.startRelay({ id: home.json.id, name: home.json.name, url: home.json.url, origin: home.json.origin, logKey, card: card.json, db, listen, logger, ...(input.tls === undefined ? {} : { tls: input.tls }), ...(input.adminListen === undefined ? {} : { adminListen: input.adminListen }), ...(input.verifyEnvelopeSignature === true ? { verifyEnvelopeSignature: true } : {}) });
    const admin = running.admin;
    const adminLine = admin === undefined ? '' : `\nOperator console at ${admin.url} — login token: ${admin.token}`;
    await ctx.out.result(`Relay ${home.json.id} is serving at ${running.url} (Ctrl-C to stop).${adminLine}`, {
      serving: { relay: home.json.id, url: running.url, port: running.port, ...(admin === undefined ? {} : { admin: { url: admin.url, port: admin.port, token: admin.token } }) },
    });
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
export function onceSignalled(): { signalled: Promise<NodeJS.Signals>; dispose: () => void } {
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
      .description('relay home: serve the relay API; party home: run the station daemon (push, deadlines, heartbeats); until SIGINT or SIGTERM')
      .option('--listen <host:port>', 'address to listen on, e.g. 127.0.0.1:7000 or [::1]:7000; port 0 picks a free port (relay: default the host and port of its URL; station: serves the web console there, loopback only, and prints a login token)')
      .option('--db <url>', 'database to use instead of the home’s: sqlite:<path> or postgres://…')
      .option('--tls-cert <file>', 'relay: serve HTTPS with this PEM certificate (chain); needs --tls-key')
      .option('--tls-key <file>', 'relay: the PEM private key of --tls-cert')
      .option('--admin-listen <host:port>', 'relay: also serve the operator console (metadata only) on this separate address, loopback only, e.g. 127.0.0.1:7100 (port 0: a free port); prints its login token')
      .option('--admin-allow-non-loopback', 'relay: let --admin-listen take a non-loopback address (put TLS and a firewall in front of it)')
      .option('--verify-envelope-signature', "relay: also verify each envelope's station signature on submission, not only its submission token (refuses a faulty station's envelope at the door; a second Ed25519 check per submission)")
      .option('--heartbeat <seconds>', `station: send the heartbeat to every pinned party this often, 0 for never (default ${DEFAULT_HEARTBEAT_S})`)
      .option('--check <seconds>', `station: check deadlines this often besides the per-note timers, 0 for never (default ${DEFAULT_CHECK_S})`)
      .option('--time-scale <x>', 'station: multiply delivery objectives by x, for tests and demos (default 1)'),
  ).action(async (...args: unknown[]) => {
    const o = optionsOf(args);
    const listen = stringOption(o, 'listen');
    const db = stringOption(o, 'db');
    const tlsCert = stringOption(o, 'tlsCert');
    const tlsKey = stringOption(o, 'tlsKey');
    const adminListen = stringOption(o, 'adminListen');
    const adminAnyHost = o.adminAllowNonLoopback === true;
    const verifyEnvelopeSignature = o.verifyEnvelopeSignature === true;
    const input: ServeInput = {
      homeDir: homeDirOf(ctx, o),
      listen: listen === undefined ? undefined : parseListen(listen),
      db: db === undefined ? undefined : parseDbUrl(db),
    };
    const home = await openHome(input.homeDir);
    if (isPartyHome(home)) {
      if (input.db !== undefined || tlsCert !== undefined || tlsKey !== undefined) throw new CliError('usage', '--db, --tls-cert and --tls-key are for a relay home; a station keeps its store in its home');
      if (adminListen !== undefined || adminAnyHost) throw new CliError('usage', '--admin-listen is for a relay home (its operator console); a station serves its console with --listen');
      if (verifyEnvelopeSignature) throw new CliError('usage', '--verify-envelope-signature is for a relay home');
      const heartbeat = stringOption(o, 'heartbeat');
      const check = stringOption(o, 'check');
      const scale = stringOption(o, 'timeScale');
      const stop = onceSignalled();
      try {
        await serveStation(
          ctx,
          home,
          {
            heartbeatSeconds: heartbeat === undefined ? DEFAULT_HEARTBEAT_S : parseSeconds(heartbeat, '--heartbeat'),
            checkSeconds: check === undefined ? DEFAULT_CHECK_S : parseSeconds(check, '--check'),
            timeScale: scale === undefined ? undefined : parseTimeScale(scale),
            listen: input.listen,
          },
          stop.signalled,
        );
      } finally {
        stop.dispose();
      }
      return;
    }
    if (!isRelayHome(home)) throw new Error('unreachable: home.json was checked');
    if ((tlsCert === undefined) !== (tlsKey === undefined)) throw new CliError('usage', '--tls-cert and --tls-key go together: give both, or neither');
    if (tlsCert !== undefined && tlsKey !== undefined) input.tls = { cert: await readTlsFile(tlsCert, '--tls-cert'), key: await readTlsFile(tlsKey, '--tls-key') };
    if (adminAnyHost && adminListen === undefined) throw new CliError('usage', '--admin-allow-non-loopback goes with --admin-listen');
    if (adminListen !== undefined) input.adminListen = { ...parseListen(adminListen, '--admin-listen'), allowNonLoopback: adminAnyHost };
    if (verifyEnvelopeSignature) input.verifyEnvelopeSignature = true;
    await serveRelay(ctx, home, input);
  });
}
