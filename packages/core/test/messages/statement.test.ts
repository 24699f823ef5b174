import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Ed25519Key } from '../../src/ed25519.js';
import { isBackchannelError } from '../../src/errors.js';
import { deterministicRandomForTests } from '../../src/random.js';
import { deriveVkey } from '../../src/note/vkey.js';
import { commitLeaf, type LeafOpening } from '../../src/messages/commitment.js';
import { signSubmissionToken, openSubmissionToken } from '../../src/messages/submission-token.js';
import { signStatement, verifyStatement } from '../../src/messages/statement.js';
import { sha256 } from '../../src/hash.js';
import { createParty } from '../../src/identity/party-keys.js';
import { MemoryLog } from '../../testing/memory-log.js';

const rnd = deterministicRandomForTests('statement');
const T = Date.UTC(2026, 0, 9, 10);
const logKey = Ed25519Key.generate(rnd);
const origin = 'relay.example/ch/00112233';
const vkey = deriveVkey(logKey, origin);

async function setup() {
  const us = await createParty({ id: 'us', name: 'United States', now: T, random: rnd });
  const ir = await createParty({ id: 'ir', name: 'Iran', now: T, random: rnd });
  const log = new MemoryLog(origin, logKey);
  const recs: { index: number; opening: LeafOpening; token: Uint8Array }[] = [];
  const add = (from: 'us' | 'ir', prec: number, dt: number) => {
    const p = from === 'us' ? us : ir;
    const digest = rnd(32);
    const token = signSubmissionToken(p.station.key, { origin, party: from, digest, time: T + dt, random: rnd });
    const opening: LeafOpening = { salt: rnd(32), type: 'submit', from, to: from === 'us' ? 'ir' : 'us', prec, time: T + dt, digest, ref: sha256(token) };
    recs.push({ index: log.append(commitLeaf(opening)), opening, token });
  };
  add('us', 0, 1000);
  add('ir', 3, 2000);
  add('ir', 0, 3000);
  // A record of another pair in the same log, not counted.
  log.append(rnd(32));
  const checkpoint = log.checkpoint();
  const records = recs.map((r) => ({ ...r, proof: log.inclusionProof(r.index) }));
  const bundles = { us: us.bundle.bundle, ir: ir.bundle.bundle };
  return { us, ir, log, checkpoint, records, bundles };
}

describe('transmission statements', () => {
  it('prove "at least N" between a pair without revealing digests', async () => {
    const { checkpoint, records, bundles } = await setup();
    const st = signStatement(logKey, { origin, parties: ['us', 'ir'], since: T, until: T + 3_600_000, issued: T + 5000, checkpoint, records }, { precedence: false, digest: false });
    const v = verifyStatement(st, vkey, bundles);
    expect(v.count).toBe(3);
    expect(v.byDirection).toEqual({ 'ir>us': 2, 'us>ir': 1 });
    expect(v.precedences).toEqual([]);
    for (const r of records) expect(Buffer.from(st).includes(Buffer.from(r.opening.digest))).toBe(false);
    // The token is opened, but names the digest only by a nonce-salted commitment.
    expect(openSubmissionToken(records[0]!.token).commit).not.toEqual(records[0]!.opening.digest);
  });

  it('open precedence only with consent', async () => {
    const { checkpoint, records, bundles } = await setup();
    const st = signStatement(logKey, { origin, parties: ['ir', 'us'], since: T, until: T + 3_600_000, issued: T, checkpoint, records }, { precedence: true, digest: false });
    expect(verifyStatement(st, vkey, bundles).precedences).toEqual([0, 3, 0]);
  });

  it('cannot count an invented record: its token is not signed by the party', async () => {
    const { records, bundles, log } = await setup();
    const forger = Ed25519Key.generate(rnd);
    const digest = rnd(32);
    const token = signSubmissionToken(forger, { origin, party: 'us', digest, time: T, random: rnd });
    const opening: LeafOpening = { salt: rnd(32), type: 'submit', from: 'us', to: 'ir', prec: 0, time: T, digest, ref: sha256(token) };
    const index = log.append(commitLeaf(opening));
    const cp = log.checkpoint();
    const all = [...records.map((r) => ({ ...r, proof: log.inclusionProof(r.index) })), { index, opening, token, proof: log.inclusionProof(index) }];
    const st = signStatement(logKey, { origin, parties: ['us', 'ir'], since: T, until: T + 3_600_000, issued: T, checkpoint: cp, records: all }, { precedence: false, digest: false });
    expect(() => verifyStatement(st, vkey, bundles)).toThrow(expect.objectContaining({ code: 'key_unknown' }));
  });

  it('rejects records outside the window, and any changed byte', async () => {
    const { checkpoint, records, bundles } = await setup();
    const late = signStatement(logKey, { origin, parties: ['us', 'ir'], since: T + 7_200_000, until: T + 10_800_000, issued: T, checkpoint, records }, { precedence: false, digest: false });
    expect(() => verifyStatement(late, vkey, bundles)).toThrow(expect.objectContaining({ code: 'schema_invalid' }));
    const st = signStatement(logKey, { origin, parties: ['us', 'ir'], since: T, until: T + 3_600_000, issued: T, checkpoint, records }, { precedence: false, digest: false });
    fc.assert(
      fc.property(fc.nat(st.length - 1), fc.integer({ min: 1, max: 255 }), (i, x) => {
        const m = Uint8Array.from(st);
        m[i] = m[i]! ^ x;
        try {
          verifyStatement(m, vkey, bundles);
          expect.unreachable('changed statement accepted');
        } catch (e) {
          expect(isBackchannelError(e)).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });
});
