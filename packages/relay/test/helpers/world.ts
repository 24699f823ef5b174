/**
 * Real traffic for relay tests, made with the core: two parties, a relay identity, sealed
 * envelopes, submission tokens, signed requests and copy acknowledgements. No mocks: what a
 * station would send.
 */
import {
  Ed25519Key,
  REQUEST_HEADER,
  createParty,
  decodeCbor,
  deriveOrigin,
  encodeCbor,
  makeRelayCard,
  parsePartyCard,
  partyCardJson,
  sealEnvelope,
  signBundle,
  signCopyAck,
  signRequest,
  signSubmissionToken,
  toBase64Url,
  utf8,
  type CborMap,
  type NewParty,
  type PartyCard,
  type Precedence,
  type RelayCardJson,
  type SealedEnvelope,
} from '@backchannel/core';

export interface Party {
  id: string;
  keys: NewParty;
  card: PartyCard;
}

export interface RelayIdentity {
  id: string;
  name: string;
  url: string;
  origin: string;
  logKey: Ed25519Key;
  card: RelayCardJson;
}

export interface World {
  us: Party;
  ir: Party;
  relay: RelayIdentity;
  now: () => number;
}

async function party(id: string, name: string, now: number, stations = 1): Promise<Party> {
  const keys = await createParty({ id, name, now });
  if (stations > 1) {
    // More desks of the same party: bundle 2, signed by the root.
    const extra = Array.from({ length: stations - 1 }, (_, i) => ({ id: `desk-${i + 2}`, key: Ed25519Key.generate() }));
    const b = keys.bundle.bundle;
    keys.bundle = signBundle(keys.root, {
      ...b,
      seq: b.seq + 1,
      issued: now,
      prev: keys.bundle.hash,
      stations: [...b.stations, ...extra.map((s) => ({ id: s.id, pub: s.key.publicKey, notBefore: now }))],
    });
    extraStations.set(id, extra.map((s) => s.key));
  }
  return { id, keys, card: parsePartyCard(partyCardJson(keys.bundle)) };
}

const extraStations = new Map<string, Ed25519Key[]>();

/** The other desks of a party made with `stations > 1`. */
export function otherDesks(p: Party): Ed25519Key[] {
  return extraStations.get(p.id) ?? [];
}

export function relayIdentity(id = 'ch', url = 'http://127.0.0.1:7001'): RelayIdentity {
  const logKey = Ed25519Key.generate();
  const origin = deriveOrigin(url, id);
  const name = 'Swiss protecting power';
  return { id, name, url, origin, logKey, card: makeRelayCard({ id, name, url, origin, logKey }) };
}

export async function makeWorld(options: { stations?: number } = {}): Promise<World> {
  const t = Date.now();
  const us = await party('us', 'United States', t - 60_000, options.stations ?? 1);
  const ir = await party('ir', 'Islamic Republic of Iran', t - 60_000, options.stations ?? 1);
  return { us, ir, relay: relayIdentity(), now: () => Date.now() };
}

export async function seal(
  from: Party,
  to: Party,
  options: { precedence?: Precedence; body?: string; created?: number; id?: Uint8Array; station?: Ed25519Key } = {},
): Promise<SealedEnvelope> {
  return sealEnvelope({
    from: from.id,
    to: to.id,
    precedence: options.precedence ?? 'ROUTINE',
    created: options.created ?? Date.now(),
    content: { kind: 'note', subject: 'Test note', body: options.body ?? 'A routine consular matter.', category: 'consular', thread: new Uint8Array(16).fill(1) },
    senderBundle: from.keys.bundle,
    recipientBundle: to.keys.bundle,
    suite: 'x25519',
    station: options.station ?? from.keys.station.key,
    signer: { key: from.keys.signers[0]!.key, certificate: from.keys.signers[0]!.certificate },
    ...(options.id === undefined ? {} : { id: options.id }),
  });
}

export function token(from: Party, origin: string, env: SealedEnvelope, options: { time?: number; station?: Ed25519Key } = {}): Uint8Array {
  return signSubmissionToken(options.station ?? from.keys.station.key, { origin, party: from.id, digest: env.digest, time: options.time ?? Date.now() });
}

export function submitBody(env: SealedEnvelope | Uint8Array, tok: Uint8Array): Buffer {
  const bytes = env instanceof Uint8Array ? env : env.bytes;
  return Buffer.from(encodeCbor({ envelope: bytes, token: tok }));
}

export function cbor(value: CborMap): Buffer {
  return Buffer.from(encodeCbor(value));
}

export function decode(body: Buffer | Uint8Array | string): CborMap {
  const b = typeof body === 'string' ? Buffer.from(body, 'latin1') : body;
  return decodeCbor(new Uint8Array(b)) as CborMap;
}

/** The Backchannel-Request header value for a signed station request. */
export function signedHeader(p: { party: Party; station?: Ed25519Key; method: string; path: string; body: Uint8Array; time?: number }): string {
  return toBase64Url(
    signRequest(p.station ?? p.party.keys.station.key, { party: p.party.id, method: p.method, path: p.path, body: p.body, time: p.time ?? Date.now() }),
  );
}

export function signedRequest(p: { party: Party; station?: Ed25519Key; path: string; body: CborMap; time?: number }): { headers: Record<string, string>; payload: Buffer } {
  const payload = cbor(p.body);
  return {
    headers: { 'content-type': 'application/cbor', [REQUEST_HEADER]: signedHeader({ ...p, method: 'POST', body: payload }) },
    payload,
  };
}

export function copyAck(p: { party: Party; station?: Ed25519Key; origin: string; from: string; id: Uint8Array; digest: Uint8Array }): Uint8Array {
  return signCopyAck(p.station ?? p.party.keys.station.key, { origin: p.origin, party: p.party.id, from: p.from, id: p.id, digest: p.digest, time: Date.now() });
}

export const MARKER_PREFIX = 'MARKER-PLAINTEXT-';

export function marker(): string {
  return `${MARKER_PREFIX}${toBase64Url(Ed25519Key.generate().publicKey).replace(/[-_]/g, 'x')}`;
}

export { utf8 };
