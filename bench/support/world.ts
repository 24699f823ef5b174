/**
 * The fixed world of the end-to-end parts: two parties (`us` sends, `ir` receives) derived
 * from fixed seeds at a fixed time, so the harness and its child processes build the same keys
 * without passing secrets around, and relay identities from fixed seeds. Benchmark keys only:
 * predictable by construction.
 */
import { Ed25519Key, createParty, deriveOrigin, deterministicRandomForTests, makeRelayCard, partyCardJson, type PartyCardJson, type RelayCardJson } from '../../packages/core/src/index.js';
import type { StationKeys } from '../../packages/station/src/index.js';

/** The keys' time, shared with child processes through BENCH_WORLD_EPOCH. */
export function worldTime(): number {
  const set = process.env.BENCH_WORLD_EPOCH;
  if (set !== undefined && /^[0-9]+$/.test(set)) return Number(set);
  const t = Date.now() - 3_600_000;
  process.env.BENCH_WORLD_EPOCH = String(t);
  return t;
}

export interface WorldParty {
  id: string;
  keys: StationKeys;
  card: PartyCardJson;
}

export async function worldParty(id: 'us' | 'ir'): Promise<WorldParty> {
  const random = deterministicRandomForTests(`backchannel-bench-${id}`);
  const name = id === 'us' ? 'United States' : 'Islamic Republic of Iran';
  const p = await createParty({
    id,
    name,
    now: worldTime(),
    random,
    signers: [{ id: 'institution', name, title: 'Institutional', level: 'institutional' }],
  });
  return {
    id,
    card: partyCardJson(p.bundle),
    keys: {
      party: id,
      bundle: p.bundle,
      station: p.station,
      signers: p.signers.map((s) => ({ id: s.entry.id, key: s.key, certificate: s.certificate })),
      encryption: p.encryption.map((e) => ({ suite: e.suite, pub: e.pub, priv: e.priv })),
      storageKey: random(32),
    },
  };
}

export interface WorldRelay {
  id: string;
  url: string;
  origin: string;
  logKeySeed: Uint8Array;
  card: RelayCardJson;
}

/** A relay identity whose card names `url` (where stations reach it: the relay or a proxy). */
export function worldRelay(id: string, url: string): WorldRelay {
  const seed = deterministicRandomForTests(`backchannel-bench-relay-${id}`)(32);
  const logKey = Ed25519Key.fromSeed(seed);
  const origin = deriveOrigin(url, id);
  return { id, url, origin, logKeySeed: seed, card: makeRelayCard({ id, name: `Bench relay ${id}`, url, origin, logKey }) };
}
