/**
 * Real relays on loopback for tests and harnesses: `startRelay` on a free port of 127.0.0.1,
 * a fresh log key, a card naming the URL (or the port of a proxy in front of it), an SQLite
 * file in a given folder, and the given parties in its mandate. Not for production use.
 */
import { join } from 'node:path';
import { Ed25519Key, deriveOrigin, makeRelayCard, parsePartyCard, type PartyCardJson, type RelayCardJson } from '@backchannel/core';
import type { AdminListen } from '../src/admin/admin-server.js';
import type { RelayLimits, RunningRelay } from '../src/options.js';
import { startRelay } from '../src/start-relay.js';
import { freePort } from './free-port.js';

export interface LoopbackRelayOptions {
  id: string;
  /** The name on its card; default `Relay <id>`. */
  name?: string;
  /** The folder of its SQLite file, `<dir>/<id>.db`. */
  dir: string;
  /** The parties of its mandate, as their cards. */
  parties: readonly PartyCardJson[];
  /** The port its card names (where a proxy in front of it listens); default: its own. */
  publicPort?: number;
  limits?: Partial<RelayLimits>;
  clock?: () => number;
  adminListen?: AdminListen;
}

export interface LoopbackRelay {
  id: string;
  name: string;
  /** Where the relay itself listens. */
  port: number;
  /** Its card's URL. */
  url: string;
  card: RelayCardJson;
  logKey: Ed25519Key;
  origin: string;
  db: string;
  /** Set while it runs. */
  running: RunningRelay | undefined;
  /** Starts it again on the same port and database (nothing if it runs). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a relay on loopback; `stop()` and `start()` restart it with the same identity and database. */
export async function startLoopbackRelay(o: LoopbackRelayOptions): Promise<LoopbackRelay> {
  // The relay logs to stdout at info by default; tests keep quiet unless told otherwise.
  process.env.BACKCHANNEL_LOG_LEVEL ??= 'silent';
  const { id, parties } = o;
  const name = o.name ?? `Relay ${id}`;
  const port = await freePort();
  const url = `http://127.0.0.1:${o.publicPort ?? port}`;
  const logKey = Ed25519Key.generate();
  const origin = deriveOrigin(url, id);
  const card = makeRelayCard({ id, name, url, origin, logKey });
  const db = `sqlite:${join(o.dir, `${id}.db`)}`;
  const r: LoopbackRelay = {
    id,
    name,
    port,
    url,
    card,
    logKey,
    origin,
    db,
    running: undefined,
    async start() {
      if (r.running !== undefined) return;
      r.running = await startRelay({
        id,
        name,
        url,
        origin,
        logKey,
        card,
        db,
        listen: { host: '127.0.0.1', port },
        mandate: parties.map((p) => ({ card: parsePartyCard(p) })),
        ...(o.limits === undefined ? {} : { limits: o.limits }),
        ...(o.clock === undefined ? {} : { clock: o.clock }),
        ...(o.adminListen === undefined ? {} : { adminListen: o.adminListen }),
      });
    },
    async stop() {
      const running = r.running;
      r.running = undefined;
      await running?.close();
    },
  };
  await r.start();
  return r;
}
