/**
 * A relay as a process of its own for the end-to-end parts: reads its options as JSON from
 * BENCH_RELAY (id, url, origin, log key seed, card, db, port, party cards), starts it with
 * `startRelay` and limits raised for load (the flood gates would otherwise refuse a benchmark),
 * prints `{"port": …}` as one line, and closes cleanly on SIGTERM.
 */
import { Ed25519Key, fromHex, parsePartyCard, type RelayCardJson } from '../../packages/core/src/index.js';
import { startRelay } from '../../packages/relay/src/index.js';
import { pino } from 'pino';

interface Options {
  id: string;
  url: string;
  origin: string;
  logKeySeed: string;
  card: RelayCardJson;
  db: string;
  port: number;
  mandate: unknown[];
}

const o = JSON.parse(process.env.BENCH_RELAY ?? '{}') as Options;
const relay = await startRelay({
  id: o.id,
  name: `Bench relay ${o.id}`,
  url: o.url,
  origin: o.origin,
  logKey: Ed25519Key.fromSeed(fromHex(o.logKeySeed)),
  card: o.card,
  db: o.db,
  listen: { host: '127.0.0.1', port: o.port },
  logger: pino({ level: 'error' }),
  limits: { ipRequestsPerWindow: 1e9, stationRequestsPerWindow: 1e9, queueDepth: 65_536, housekeepingMs: 3_600_000 },
  mandate: o.mandate.map((card) => ({ card: parsePartyCard(card) })),
});
process.stdout.write(`${JSON.stringify({ port: relay.port })}\n`);
let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  relay.close().then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(`relay-child: close failed: ${String(e)}\n`);
      process.exit(1);
    },
  );
});
