/**
 * Our protocol vectors (packages/core/vectors/, written by `npm run vectors`): generated again
 * here and compared byte for byte, then every positive case is opened and every named negative
 * case must fail with exactly its code.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fromBase64, fromHex, toHex } from '../src/bytes.js';
import { isBackchannelError } from '../src/errors.js';
import { parsePartyCard } from '../src/identity/party-card.js';
import { parseRelayCard } from '../src/identity/relay-card.js';
import { openBundle } from '../src/identity/bundle.js';
import { openSignerCertificate } from '../src/identity/certificate.js';
import { encryptionKeyId, openEnvelope } from '../src/envelope/envelope.js';
import { openSubmissionToken, checkSubmissionToken } from '../src/messages/submission-token.js';
import { openRequest, checkRequest } from '../src/messages/request.js';
import { openCopyAck } from '../src/messages/copy-ack.js';
import { openDeliveryRecord } from '../src/messages/delivery-record.js';
import { verifyReceipt } from '../src/messages/receipt.js';
import { verifyStatement } from '../src/messages/statement.js';
import { equalBytes } from '../src/bytes.js';
import { generateVectors, type Vectors } from '../tools/vectors.js';

const dir = path.resolve(import.meta.dirname, '../vectors');
function load<K extends keyof Vectors>(name: K): Vectors[K] {
  return JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as Vectors[K];
}

const ids = load('identities.json');
const envs = load('envelopes.json');
const msgs = load('messages.json');
const logv = load('log.json');
const neg = load('negative.json');
const deskv = load('desk-envelopes.json');
const us = parsePartyCard(ids.parties.us!.card);
const ir = parsePartyCard(ids.parties.ir!.card);
const ch = parseRelayCard(ids.relays.ch!.card);
const cards = { us, ir };

function ctx(self: 'us' | 'ir', sender: 'us' | 'ir', at: number) {
  const keys = ids.parties[self]!.encryption;
  return {
    self,
    privateKeyFor: (kid: Uint8Array) => {
      const k = keys.find((e) => equalBytes(encryptionKeyId(fromHex(e.pub)), kid));
      return k === undefined ? undefined : fromHex(k.priv);
    },
    senderBundle: cards[sender].signed,
    judgedAt: at,
  };
}

describe('protocol vectors', () => {
  let fresh: Vectors;
  beforeAll(async () => {
    fresh = await generateVectors();
  });

  it('are re-derived byte for byte by the generator', () => {
    expect(fresh['identities.json']).toEqual(ids);
    expect(fresh['envelopes.json']).toEqual(envs);
    expect(fresh['messages.json']).toEqual(msgs);
    expect(fresh['log.json']).toEqual(logv);
    expect(fresh['negative.json']).toEqual(neg);
    expect(fresh['desk-envelopes.json']).toEqual(deskv);
  });

  it.each(deskv.envelopes.map((e) => [e.name, e] as const))('desk envelope %s opens only at the desk it is sealed to, as a key share', async (_n, e) => {
    const bundle = openBundle(fromHex(deskv.bundle));
    expect(bundle.bundle.seq).toBe(2);
    let known: Awaited<ReturnType<typeof openEnvelope>> | undefined;
    for (const d of [...deskv.desks].sort((a, b) => (a.id === e.station ? -1 : b.id === e.station ? 1 : 0))) {
      // The opening made at the right desk, offered as `known`, opens nothing at the others.
      const open = openEnvelope(fromHex(e.bytes), {
        self: 'us',
        privateKeyFor: (kid: Uint8Array) => {
          const pub = bundle.bundle.stations.find((s) => s.id === d.id)!.kx!.pub;
          return equalBytes(encryptionKeyId(pub), kid) ? fromHex(d.kx_priv) : undefined;
        },
        senderBundle: bundle,
        judgedAt: e.created,
      }, known);
      if (d.id !== e.station) {
        await expect(open).rejects.toMatchObject({ code: 'key_unknown' });
        continue;
      }
      const o = await open;
      expect(o.header.from).toBe('us');
      expect(o.header.to).toBe('us');
      expect(toHex(o.contentBytes)).toBe(e.content_cbor);
      expect(o.content).toMatchObject({ kind: 'keys', station: e.station, bundle: { seq: 2 } });
      known = o;
    }
    // A party's encryption key opens nothing of it: the share is not sealed to the party.
    await expect(openEnvelope(fromHex(e.bytes), { ...ctx('us', 'us', e.created), senderBundle: bundle })).rejects.toMatchObject({ code: 'key_unknown' });
  });

  it('cover every content kind in both suites', () => {
    const kinds = new Set(envs.envelopes.map((e) => `${e.kind}/${e.suite}`));
    for (const k of ['note', 'ack', 'read', 'heartbeat', 'bundle']) for (const s of ['x25519', 'xwing']) expect(kinds).toContain(`${k}/${s}`);
  });

  it.each(envs.envelopes.map((e) => [e.name, e] as const))('envelope %s opens at its recipient and its sender', async (_n, e) => {
    for (const self of [e.to, e.from] as ('us' | 'ir')[]) {
      const o = await openEnvelope(fromHex(e.bytes), ctx(self, e.from as 'us' | 'ir', e.created));
      expect(toHex(o.contentBytes)).toBe(e.content_cbor);
      expect(toHex(o.digest)).toBe(e.digest);
      expect(o.signer.id).toBe(e.signer);
    }
  });

  it('messages verify', () => {
    const t = msgs.tokens[0]!;
    const tok = openSubmissionToken(fromHex(t.bytes));
    checkSubmissionToken(tok, { origin: t.origin, digest: fromHex(t.digest), party: 'us', station: us.signed.bundle.stations[0]!.pub });
    const r = msgs.requests[0]!;
    checkRequest(openRequest(fromHex(r.bytes)), { method: r.method, path: r.path, body: fromBase64(r.body), now: ids.time + 20 });
    expect(openCopyAck(fromHex(msgs.copy_acks[0]!.bytes)).party).toBe('ir');
    expect(openDeliveryRecord(fromHex(msgs.delivery_records[0]!.bytes), ch.vkey.publicKey).from).toBe('us');
    for (const c of Object.values(ids.parties)) for (const s of c.signers) expect(openSignerCertificate(fromHex(s.certificate)).id).toBe(s.id);
  });

  it('receipts and the statement verify with the relay card alone', () => {
    for (const r of logv.receipts) expect(verifyReceipt(r.receipt, ch.vkey, { type: 'submit', digest: fromHex(r.digest) }).index).toBe(r.index);
    const s = verifyStatement(fromHex(logv.statement.bytes), ch.vkey, { us: us.signed.bundle, ir: ir.signed.bundle });
    expect(s.count).toBe(logv.statement.count);
  });

  it.each(neg.cases.map((c) => [c.name, c] as const))('negative case %s fails with its code', async (_n, c) => {
    const bin = (): Uint8Array => (c.encoding === 'zeros' ? new Uint8Array(Number(c.input)) : fromHex(c.input));
    const run: Record<typeof c.type, () => unknown> = {
      envelope: () => openEnvelope(bin(), ctx('ir', 'us', ids.time)),
      token: () => openSubmissionToken(bin()),
      request: () => openRequest(bin()),
      delivery_record: () => openDeliveryRecord(bin()),
      copy_ack: () => openCopyAck(bin()),
      receipt: () => verifyReceipt(c.input, ch.vkey, { type: 'submit', digest: fromHex(logv.receipts[0]!.digest) }),
      bundle: () => openBundle(bin()),
      certificate: () => openSignerCertificate(bin()),
      party_card: () => parsePartyCard(c.input),
      relay_card: () => parseRelayCard(c.input),
      statement: () => verifyStatement(bin(), ch.vkey, { us: us.signed.bundle, ir: ir.signed.bundle }),
    };
    let code: string | undefined;
    try {
      await run[c.type]();
    } catch (e) {
      code = isBackchannelError(e) ? e.code : `untyped: ${String(e)}`;
    }
    expect(code).toBe(c.code);
  });
});
