/**
 * The fixed world of the relay accept benchmark, shared by bench/relay-accept.ts and its child
 * processes: two real parties (`us` sends, `ir` receives) and one relay identity, all derived
 * from fixed seeds so that every process builds the same keys without passing secrets around.
 * Benchmark keys only: predictable by construction.
 */
import { readFileSync } from 'node:fs';
import {
  Ed25519Key,
  createParty,
  deriveOrigin,
  deterministicRandomForTests,
  makeRelayCard,
  parsePartyCard,
  partyCardJson,
  type NewParty,
  type RelayCardJson,
} from '../packages/core/src/index.js';
import type { MandateEntry, RelayLimits } from '../packages/relay/src/index.js';

/**
 * The keys' time: the start of the current UTC day, fixed by the first process that asks and
 * inherited by its children through the environment, so every process of a run derives the
 * same bundles (and a corpus kept in BC_ACCEPT_CACHE stays valid for the day).
 */
export function bundleTime(): number {
  const day = 86_400_000;
  const set = process.env.BC_ACCEPT_EPOCH;
  if (set !== undefined && /^[0-9]+$/.test(set)) return Number(set);
  const t = Math.floor((Date.now() - 60_000) / day) * day;
  process.env.BC_ACCEPT_EPOCH = String(t);
  return t;
}

let parties: Promise<{ us: NewParty; ir: NewParty }> | undefined;

export function benchParties(): Promise<{ us: NewParty; ir: NewParty }> {
  parties ??= (async () => {
    const now = bundleTime();
    const us = await createParty({ id: 'us', name: 'United States', now, random: deterministicRandomForTests(`bench-us-${now}`) });
    const ir = await createParty({ id: 'ir', name: 'Iran', now, random: deterministicRandomForTests(`bench-ir-${now}`) });
    return { us, ir };
  })();
  return parties;
}

export interface BenchRelayIdentity {
  id: string;
  url: string;
  origin: string;
  logKey: Ed25519Key;
  card: RelayCardJson;
}

export function benchRelay(): BenchRelayIdentity {
  const id = 'ch';
  // The card's URL is nominal: the relay listens on an ephemeral port; the origin stays fixed.
  const url = 'http://127.0.0.1:7001';
  const origin = deriveOrigin(url, id, deterministicRandomForTests('bench-relay-origin'));
  const logKey = Ed25519Key.fromSeed(deterministicRandomForTests('bench-relay-log-key')(32));
  return { id, url, origin, logKey, card: makeRelayCard({ id, name: 'Bench relay', url, origin, logKey }) };
}

export async function relayMandate(): Promise<MandateEntry[]> {
  const { us, ir } = await benchParties();
  return [us, ir].map((p) => ({ card: parsePartyCard(partyCardJson(p.bundle)) }));
}

/**
 * The relay's flood gates are per address and per station; all load here comes from one
 * address and one desk, so they are lifted for the benchmark (an operator sizes them for the
 * stations it serves). Housekeeping stays out of the measured seconds.
 */
export const ACCEPT_LIMITS: Partial<RelayLimits> = {
  ipRequestsPerWindow: 1e9,
  stationRequestsPerWindow: 1e9,
  housekeepingMs: 3_600_000,
};

/** A note body of `bytes` UTF-8 bytes (ASCII text). */
export function noteBody(bytes: number): string {
  const line = 'A routine consular matter concerning the exchange of correspondence. ';
  return line.repeat(Math.ceil(bytes / line.length)).slice(0, bytes);
}

/** Reads a corpus file written by the seal children: 4-byte big-endian length, then the body. */
export function readCorpus(path: string): Buffer[] {
  const all = readFileSync(path);
  const out: Buffer[] = [];
  let at = 0;
  while (at < all.length) {
    const n = all.readUInt32BE(at);
    out.push(all.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return out;
}
