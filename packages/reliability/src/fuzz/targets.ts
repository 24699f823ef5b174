/**
 * The fuzz targets: every parser that reads bytes or text from outside, each called exactly as
 * its real caller calls it (a relay on a submission, a station on a fetched copy, the CLI on a
 * card file), seeded with our protocol vectors (packages/core/vectors). A target returns when
 * the input is accepted and throws when it is refused; the campaign checks that every refusal
 * is typed.
 */
import { readFileSync } from 'node:fs';
import {
  Ed25519Key,
  SIGNATURE_TYPE_COSIGNATURE_V1,
  cosignCheckpoint,
  decodeCbor,
  decodeContent,
  deriveVkey,
  encodeCbor,
  encodeContent,
  fromHex,
  openBundle,
  openCheckpoint,
  openCopyAck,
  openDeliveryRecord,
  openRequest,
  openSignerCertificate,
  openSubmissionToken,
  parseAddCheckpointRequest,
  parseEnvelope,
  parsePartyCard,
  parseRelayCard,
  parseTlogProof,
  parseVkey,
  verifyCosignature,
  verifyEnvelopeStation,
  verifyReceipt,
  verifyStatement,
  type KeyBundle,
  type Vkey,
} from '@backchannel/core';
import { decodeArchive, verifyArchive } from '@backchannel/station';

export interface FuzzTarget {
  name: string;
  /** What real input it stands for. */
  about: string;
  /** Substrings of the script URLs whose blocks count as this target's coverage. */
  sources: readonly string[];
  /** Text targets are mutated as bytes but handed over as UTF-8 text. */
  text: boolean;
  seeds: Uint8Array[];
  run(input: Uint8Array): void;
}

const VECTORS = new URL('../../../core/vectors/', import.meta.url);

/** A vector file, parsed; its shape is the generator's (packages/core/tools/vectors.ts). */
function vectors(file: string): unknown {
  return JSON.parse(readFileSync(new URL(file, VECTORS), 'utf8'));
}

interface Identities {
  time: number;
  parties: Record<string, { card: unknown; signers: { certificate: string }[] }>;
  relays: Record<string, { card: unknown; log_seed: string }>;
}
interface Envelopes {
  envelopes: { name: string; bytes: string; content_cbor?: string; created: number }[];
}
interface Log {
  checkpoint: string;
  receipts: { digest: string; receipt: string }[];
  statement: { bytes: string };
}
interface Messages {
  tokens: { bytes: string }[];
  requests: { bytes: string }[];
  copy_acks: { bytes: string }[];
  delivery_records: { bytes: string }[];
}
interface Negative {
  cases: { type: string; input: string; encoding: string }[];
}

const utf8 = new TextEncoder();
const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

/** Builds every target from the vectors; throws (a broken checkout) if the vectors are missing. */
export function loadTargets(): FuzzTarget[] {
  const ids = vectors('identities.json') as Identities;
  const envs = vectors('envelopes.json') as Envelopes;
  const log = vectors('log.json') as Log;
  const msgs = vectors('messages.json') as Messages;
  const neg = vectors('negative.json') as Negative;
  const negatives = (type: string): Uint8Array[] =>
    neg.cases.filter((c) => c.type === type).map((c) => (c.encoding === 'hex' ? fromHex(c.input) : utf8.encode(c.input)));

  const cards = Object.fromEntries(Object.entries(ids.parties).map(([k, p]) => [k, parsePartyCard(p.card)]));
  const bundles: Record<string, KeyBundle> = Object.fromEntries(Object.entries(cards).map(([k, c]) => [k, c.signed.bundle]));
  const relayCard = parseRelayCard(ids.relays.ch!.card);
  const logKey: Vkey = relayCard.vkey;
  const time = ids.time;
  const witnessKey = Ed25519Key.fromSeed(new Uint8Array(32).fill(7));
  const witness = deriveVkey(witnessKey, 'witness.example/fuzz', SIGNATURE_TYPE_COSIGNATURE_V1);
  const checkpointText = log.checkpoint.slice(0, log.checkpoint.indexOf('\n\n') + 1);
  const receipt0 = log.receipts[0]!;

  const envelope: FuzzTarget = {
    name: 'envelope',
    about: 'a sealed envelope as a relay takes it and a station receives it: parse, then the sender station signature',
    sources: ['/core/src/envelope/', '/core/src/cbor', '/core/src/signed', '/core/src/schema'],
    text: false,
    seeds: [...envs.envelopes.map((e) => fromHex(e.bytes)), ...negatives('envelope')],
    run(input) {
      const env = parseEnvelope(input);
      const bundle = bundles[env.header.from];
      if (bundle !== undefined) verifyEnvelopeStation(env, bundle, env.header.created);
    },
  };
  const content: FuzzTarget = {
    name: 'content',
    about: 'decrypted note content (after the envelope opened): decoded, and what decodes re-encodes to the same bytes',
    sources: ['/core/src/envelope/content', '/core/src/cbor', '/core/src/schema'],
    text: false,
    seeds: envs.envelopes.flatMap((e) => (e.content_cbor === undefined ? [] : [fromHex(e.content_cbor)])),
    run(input) {
      const c = decodeContent(input);
      // Canonical CBOR: what decodes must re-encode to the same content.
      const bytes = encodeContent(c);
      if (!Buffer.from(encodeContent(decodeContent(bytes))).equals(Buffer.from(bytes))) throw new Error('content does not round-trip');
    },
  };
  const partyCard: FuzzTarget = {
    name: 'party-card',
    about: 'a party card file as `trust` and `pin` read it (UTF-8 JSON text)',
    sources: ['/core/src/identity/', '/core/src/signed', '/core/src/cbor'],
    text: true,
    seeds: [...Object.values(ids.parties).map((p) => utf8.encode(JSON.stringify(p.card, null, 2))), ...negatives('party_card')],
    run(input) {
      parsePartyCard(text(input));
    },
  };
  const relayCardT: FuzzTarget = {
    name: 'relay-card',
    about: 'a relay card file as `relay add` reads it (UTF-8 JSON text)',
    sources: ['/core/src/identity/relay-card', '/core/src/identity/card', '/core/src/note/vkey'],
    text: true,
    seeds: [...Object.values(ids.relays).map((r) => utf8.encode(JSON.stringify(r.card, null, 2))), ...negatives('relay_card')],
    run(input) {
      parseRelayCard(text(input));
    },
  };
  const bundle: FuzzTarget = {
    name: 'bundle',
    about: 'a signed key bundle, as carried in cards and bundle envelopes',
    sources: ['/core/src/identity/bundle', '/core/src/signed', '/core/src/cbor'],
    text: false,
    seeds: [...Object.values(cards).map((c) => c.signed.bytes), ...negatives('bundle')],
    run(input) {
      openBundle(input);
    },
  };
  const certificate: FuzzTarget = {
    name: 'certificate',
    about: 'a signer certificate, as carried in an envelope',
    sources: ['/core/src/identity/certificate', '/core/src/signed', '/core/src/cbor'],
    text: false,
    seeds: [...Object.values(ids.parties).flatMap((p) => p.signers.map((s) => fromHex(s.certificate))), ...negatives('certificate')],
    run(input) {
      openSignerCertificate(input);
    },
  };
  const receipt: FuzzTarget = {
    name: 'receipt',
    about: 'a relay receipt (C2SP tlog-proof with the leaf opening) as a station checks it',
    sources: ['/core/src/messages/receipt', '/core/src/note/', '/core/src/merkle/', '/core/src/messages/commitment'],
    text: true,
    seeds: [...log.receipts.map((r) => utf8.encode(r.receipt)), ...negatives('receipt')],
    run(input) {
      verifyReceipt(text(input), logKey, { type: 'submit', digest: fromHex(receipt0.digest) });
    },
  };
  const tlogProof: FuzzTarget = {
    name: 'tlog-proof',
    about: 'a C2SP tlog-proof, parsed alone',
    sources: ['/core/src/note/tlog-proof'],
    text: true,
    seeds: log.receipts.map((r) => utf8.encode(r.receipt)),
    run(input) {
      parseTlogProof(text(input));
    },
  };
  const checkpoint: FuzzTarget = {
    name: 'checkpoint',
    about: 'a signed checkpoint note (the signed-note grammar, then the checkpoint body)',
    sources: ['/core/src/note/signed-note', '/core/src/note/checkpoint', '/core/src/note/vkey'],
    text: true,
    seeds: [utf8.encode(log.checkpoint)],
    run(input) {
      openCheckpoint(text(input), logKey, { origin: logKey.name });
    },
  };
  const cosignature: FuzzTarget = {
    name: 'cosignature',
    about: 'a witness cosignature line over a checkpoint (C2SP tlog-cosignature)',
    sources: ['/core/src/note/cosignature', '/core/src/note/signed-note'],
    text: true,
    seeds: [utf8.encode(cosignCheckpoint(witnessKey, witness.name, checkpointText, time))],
    run(input) {
      verifyCosignature(witness, checkpointText, text(input));
    },
  };
  const vkey: FuzzTarget = {
    name: 'vkey',
    about: 'a verifier key line, as found on relay cards and witness lists',
    sources: ['/core/src/note/vkey'],
    text: true,
    seeds: [utf8.encode((ids.relays.ch!.card as { vkey: string }).vkey)],
    run(input) {
      parseVkey(text(input));
    },
  };
  const witnessRequest: FuzzTarget = {
    name: 'witness-request',
    about: 'a body of POST /witness/add-checkpoint',
    sources: ['/core/src/note/witness-request', '/core/src/note/signed-note'],
    text: true,
    seeds: [utf8.encode(`old 0\n\n${log.checkpoint}`)],
    run(input) {
      parseAddCheckpointRequest(input);
    },
  };
  const token: FuzzTarget = {
    name: 'token',
    about: 'a submission token, as a relay reads it beside an envelope',
    sources: ['/core/src/messages/', '/core/src/signed', '/core/src/cbor'],
    text: false,
    seeds: [...msgs.tokens.map((t) => fromHex(t.bytes)), ...negatives('token')],
    run(input) {
      openSubmissionToken(input);
    },
  };
  const request: FuzzTarget = {
    name: 'request',
    about: 'a signed request (the Backchannel-Request header, decoded)',
    sources: ['/core/src/messages/request', '/core/src/signed', '/core/src/cbor'],
    text: false,
    seeds: [...msgs.requests.map((t) => fromHex(t.bytes)), ...negatives('request')],
    run(input) {
      openRequest(input);
    },
  };
  const copyAck: FuzzTarget = {
    name: 'copy-ack',
    about: 'a copy acknowledgement, as a relay reads it on /v1/ack',
    sources: ['/core/src/messages/', '/core/src/signed', '/core/src/cbor'],
    text: false,
    seeds: [...msgs.copy_acks.map((t) => fromHex(t.bytes)), ...negatives('copy_ack')],
    run(input) {
      openCopyAck(input);
    },
  };
  const deliveryRecord: FuzzTarget = {
    name: 'delivery-record',
    about: 'a relay-signed delivery record, as a sender station checks it',
    sources: ['/core/src/messages/', '/core/src/signed', '/core/src/cbor'],
    text: false,
    seeds: [...msgs.delivery_records.map((t) => fromHex(t.bytes)), ...negatives('delivery_record')],
    run(input) {
      openDeliveryRecord(input, logKey.publicKey);
    },
  };
  const statement: FuzzTarget = {
    name: 'statement',
    about: 'a relay statement, verified against the log key and the parties bundles',
    sources: ['/core/src/messages/statement', '/core/src/messages/commitment', '/core/src/signed', '/core/src/cbor'],
    text: false,
    seeds: [fromHex(log.statement.bytes), ...negatives('statement')],
    run(input) {
      verifyStatement(input, logKey, bundles);
    },
  };
  const cbor: FuzzTarget = {
    name: 'cbor',
    about: 'the strict deterministic CBOR decoder every binary parser starts with; what decodes re-encodes identically',
    sources: ['/core/src/cbor'],
    text: false,
    seeds: [...envs.envelopes.slice(0, 3).map((e) => fromHex(e.bytes)), fromHex(log.statement.bytes)],
    run(input) {
      const v = decodeCbor(input);
      if (!Buffer.from(encodeCbor(v)).equals(Buffer.from(input))) throw new Error('CBOR decoded from canonical bytes does not re-encode to them');
    },
  };
  const archive: FuzzTarget = {
    name: 'archive',
    about: 'a thread archive file, as `verify-archive` reads it (its verifier reports problems and must never throw)',
    sources: ['/station/src/archive'],
    text: false,
    seeds: [encodeCbor({ v: 1, thread: new Uint8Array(16), notes: [] })],
    run(input) {
      const r = verifyArchive(input);
      if (typeof r.ok !== 'boolean') throw new Error('archive report has no verdict');
      decodeArchive(input);
    },
  };
  return [envelope, content, partyCard, relayCardT, bundle, certificate, receipt, tlogProof, checkpoint, cosignature, vkey, witnessRequest, token, request, copyAck, deliveryRecord, statement, cbor, archive];
}
