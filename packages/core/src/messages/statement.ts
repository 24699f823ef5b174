/**
 * Transmission statements (DESIGN.md, "Statements"): a relay's signed, checkable claim that at
 * least N envelopes passed between two parties in a time window — "Switzerland confirms that
 * several messages were transmitted" as a proof, not a press release.
 *
 * For each counted record the statement opens the leaf's type, pair, hour window and ref
 * (the hash of the submission token), includes the token itself (signed by a station of the
 * sending party, so the relay cannot invent records) and the record's inclusion proof against
 * a checkpoint. Precedence and digest are opened only where the parties consented. A relay can
 * omit records, never add them; hence "at least".
 */
import type { CborMap, CborValue } from '../cbor.js';
import { BackchannelError } from '../errors.js';
import { equalBytes, fromUtf8 } from '../bytes.js';
import type { Ed25519Key } from '../ed25519.js';
import { sha256 } from '../hash.js';
import { LABELS } from '../labels.js';
import { MapReader, readItem } from '../schema.js';
import { openSigned, signStructure } from '../signed.js';
import { PARTY_ID_RE } from '../identity/ids.js';
import { findRevocation, type KeyBundle } from '../identity/bundle.js';
import { hashLeaf } from '../merkle/hasher.js';
import { verifyInclusion } from '../merkle/verify.js';
import { openCheckpoint, type Checkpoint } from '../note/checkpoint.js';
import type { OpenedNote } from '../note/signed-note.js';
import type { Vkey } from '../note/vkey.js';
import { decodePartialOpening, encodePartialOpening, leafFromPartial, openFields, WINDOW_MS, type LeafField, type LeafOpening, type PartialOpening } from './commitment.js';
import { openSubmissionToken } from './submission-token.js';

export interface StatementRecord {
  index: number;
  opening: PartialOpening;
  token: Uint8Array;
  proof: Uint8Array[];
}

export interface StatementBody {
  origin: string;
  parties: [string, string];
  since: number;
  until: number;
  issued: number;
  /** The checkpoint note (with witness cosignatures) the proofs are against. */
  checkpoint: string;
  records: StatementRecord[];
}

export interface VerifiedStatement {
  origin: string;
  parties: [string, string];
  since: number;
  until: number;
  issued: number;
  /** "At least this many" envelopes, acknowledgements and heartbeats included. */
  count: number;
  /** Per direction, e.g. { "us>ir": 3, "ir>us": 2 }. */
  byDirection: Record<string, number>;
  /** Precedence codes, where the statement opened them. */
  precedences: number[];
  checkpoint: Checkpoint;
  checkpointNote: OpenedNote;
}

const MAX_RECORDS = 100_000;

/** The fields a statement opens: always these; precedence and digest only with consent. */
export function statementFields(consent: { precedence: boolean; digest: boolean }): LeafField[] {
  const f: LeafField[] = ['type', 'pair', 'window', 'ref'];
  if (consent.precedence) f.push('prec');
  if (consent.digest) f.push('digest');
  return f;
}

export function signStatement(
  logKey: Ed25519Key,
  s: Omit<StatementBody, 'records'> & { records: { index: number; opening: LeafOpening; token: Uint8Array; proof: Uint8Array[] }[] },
  consent: { precedence: boolean; digest: boolean },
): Uint8Array {
  const fields = statementFields(consent);
  const [a, b] = [...s.parties].sort() as [string, string];
  const body: CborMap = {
    v: 1,
    origin: s.origin,
    parties: [a, b],
    since: s.since,
    until: s.until,
    issued: s.issued,
    checkpoint: s.checkpoint,
    records: s.records.map((r) => ({ index: r.index, opening: encodePartialOpening(openFields(r.opening, fields)), token: r.token, proof: r.proof })),
  };
  return signStructure(logKey, LABELS.statement, body);
}

function u64(b: Uint8Array): number {
  if (b.length !== 8) throw new BackchannelError('schema_invalid', 'expected an 8-byte integer');
  const n = new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new BackchannelError('schema_invalid', 'integer out of range');
  return Number(n);
}

function opened(p: PartialOpening, f: LeafField, i: number): Uint8Array {
  const x = p[f];
  if ('hash' in x) throw new BackchannelError('schema_invalid', `statement record ${i} does not open its ${f}`);
  return x.value;
}

/**
 * Verifies a statement with nothing but the relay's log key and the two parties' bundles
 * (from their cards). Witness cosignatures on the checkpoint are left to the caller's policy
 * (`checkpointNote` carries them).
 */
export function verifyStatement(bytes: Uint8Array, logKey: Vkey, bundles: Readonly<Record<string, KeyBundle>>): VerifiedStatement {
  const o = openSigned(bytes, LABELS.statement, 'schema_invalid', 64 * 1024 * 1024);
  if (!equalBytes(o.key, logKey.publicKey)) throw new BackchannelError('key_unknown', 'statement is not signed by this relay');
  const r = new MapReader(o.body, 'statement');
  const v = r.uint('v');
  const origin = r.text('origin', { max: 255 });
  const parties = r.array('parties', (x, path, p) => {
    if (typeof x !== 'string' || !PARTY_ID_RE.test(x)) p.problems.push(`${path} must be a party id`);
    return x as string;
  }, { max: 2 });
  const since = r.uint('since');
  const until = r.uint('until');
  const issued = r.uint('issued');
  const checkpointText = r.text('checkpoint', { max: 64 * 1024 });
  const records = r.array('records', (x: CborValue, path, p) =>
    readItem(x, path, p, (m) => ({
      index: m.uint('index'),
      opening: decodePartialOpening(m.raw('opening') ?? null),
      token: m.bytes('token', { max: 1024 }),
      proof: m.array('proof', (h, hp, pp) => {
        if (!(h instanceof Uint8Array) || h.length !== 32) pp.problems.push(`${hp} must be 32 bytes`);
        return h as Uint8Array;
      }, { max: 63 }),
    })), { max: MAX_RECORDS });
  if (v !== 1) r.problems.push('statement.v must be 1');
  if (parties.length !== 2 || parties[0]! >= parties[1]!) r.problems.push('statement.parties must be two distinct party ids in order');
  if (until <= since) r.problems.push('statement window is empty');
  r.done();
  if (origin !== logKey.name) throw new BackchannelError('schema_invalid', `statement is for log ${origin}, not ${logKey.name}`);
  const { checkpoint, note } = openCheckpoint(checkpointText, logKey, { origin });

  const [a, b] = parties as [string, string];
  const byDirection: Record<string, number> = { [`${a}>${b}`]: 0, [`${b}>${a}`]: 0 };
  const precedences: number[] = [];
  const seen = new Set<number>();
  for (const [i, rec] of records.entries()) {
    if (seen.has(rec.index)) throw new BackchannelError('schema_invalid', `statement counts leaf ${rec.index} twice`);
    seen.add(rec.index);
    verifyInclusion(hashLeaf(leafFromPartial(rec.opening)), rec.index, checkpoint.size, rec.proof, checkpoint.rootHash);
    if (fromUtf8(opened(rec.opening, 'type', i)) !== 'submit') throw new BackchannelError('schema_invalid', `statement record ${i} is not a submission`);
    const pair = fromUtf8(opened(rec.opening, 'pair', i));
    if (!(pair in byDirection)) throw new BackchannelError('schema_invalid', `statement record ${i} is between other parties (${pair})`);
    const window = u64(opened(rec.opening, 'window', i));
    if (window + WINDOW_MS <= since || window >= until) throw new BackchannelError('schema_invalid', `statement record ${i} is outside the window`);
    if (!equalBytes(opened(rec.opening, 'ref', i), sha256(rec.token))) throw new BackchannelError('commitment_mismatch', `statement record ${i}'s token is not the one committed`);
    const token = openSubmissionToken(rec.token);
    const from = pair.split('>')[0]!;
    if (token.party !== from || token.origin !== origin) throw new BackchannelError('token_invalid', `statement record ${i}'s token is not from ${from} to this log`);
    const bundle = bundles[from];
    if (bundle === undefined) throw new BackchannelError('key_unknown', `no bundle for party ${from}`);
    const known = bundle.stations.some((s) => equalBytes(s.pub, token.station));
    const rev = findRevocation(bundle, token.station);
    if (!known && rev === undefined) throw new BackchannelError('key_unknown', `statement record ${i}'s token is not signed by a station of ${from}`);
    if (rev !== undefined && token.time >= rev.compromisedSince) throw new BackchannelError('key_revoked', `statement record ${i}'s token was signed by a revoked station`);
    const prec = rec.opening.prec;
    if (!('hash' in prec)) precedences.push(u64(prec.value));
    byDirection[pair] = (byDirection[pair] ?? 0) + 1;
  }
  return { origin, parties: [a, b], since, until, issued, count: records.length, byDirection, precedences, checkpoint, checkpointNote: note };
}
