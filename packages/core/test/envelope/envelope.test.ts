import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isBackchannelError } from '../../src/errors.js';
import { deterministicRandomForTests } from '../../src/random.js';
import { createParty, type NewParty } from '../../src/identity/party-keys.js';
import { contentSignedParts, encryptionKeyId, envelopeSignedParts, openEnvelope, parseEnvelope, sealEnvelope, verifyEnvelopeStation, type SealParams } from '../../src/envelope/envelope.js';
import { concatBytes } from '../../src/bytes.js';
import { encodeCbor } from '../../src/cbor.js';
import type { SuiteName } from '../../src/identity/bundle.js';
import { SIZE_BUCKETS } from '../../src/envelope/size-bucket.js';
import { equalBytes } from '../../src/bytes.js';
import type { Content } from '../../src/envelope/content.js';

const T0 = Date.UTC(2026, 0, 3, 12);

async function world(suite: SuiteName) {
  const random = deterministicRandomForTests(`envelope-${suite}`);
  const suites: SuiteName[] = suite === 'xwing' ? ['x25519', 'xwing'] : ['x25519'];
  const us = await createParty({ id: 'us', name: 'United States', now: T0, suites, random, signers: [{ id: 'state.secretary', name: 'Jane Doe', title: 'Secretary of State', level: 'official' }] });
  const ir = await createParty({ id: 'ir', name: 'Islamic Republic of Iran', now: T0, suites, random });
  return { us, ir, random };
}

function ctxFor(self: NewParty, sender: NewParty) {
  return {
    self: self.bundle.bundle.party,
    privateKeyFor: (kid: Uint8Array) => self.encryption.find((e) => equalBytes(encryptionKeyId(e.pub), kid))?.priv,
    senderBundle: sender.bundle,
    judgedAt: T0 + 1000,
  };
}

function params(us: NewParty, ir: NewParty, suite: SuiteName, content: Content, random = deterministicRandomForTests('p')): SealParams {
  return {
    from: 'us',
    to: 'ir',
    precedence: 'FLASH',
    created: T0 + 500,
    content,
    senderBundle: us.bundle,
    recipientBundle: ir.bundle,
    suite,
    station: us.station.key,
    signer: { key: us.signers[0]!.key, certificate: us.signers[0]!.certificate },
    random,
  };
}

const note: Content = { kind: 'note', subject: 'Do not escalate', body: 'We urge restraint.', category: 'security', thread: new Uint8Array(16).fill(7) };

describe.each(['x25519', 'xwing'] as const)('envelope, suite %s', (suite) => {
  it('seals to the recipient and to the sender, exactly one bucket in size', async () => {
    const { us, ir } = await world(suite);
    const sealed = await sealEnvelope(params(us, ir, suite, note));
    expect(SIZE_BUCKETS).toContain(sealed.bytes.length);
    expect(sealed.bytes.length).toBe(sealed.header.size);
    const atIr = await openEnvelope(sealed.bytes, ctxFor(ir, us));
    expect(atIr.content).toEqual(note);
    expect(atIr.signer.name).toBe('Jane Doe');
    expect(atIr.signer.level).toBe('official');
    const atUs = await openEnvelope(sealed.bytes, ctxFor(us, us));
    expect(atUs.content).toEqual(note);
  });

  it('hides the content length inside the bucket', async () => {
    const { us, ir } = await world(suite);
    const a = await sealEnvelope(params(us, ir, suite, { ...note, body: 'x' }));
    const b = await sealEnvelope(params(us, ir, suite, { ...note, body: 'x'.repeat(500) }));
    expect(a.bytes.length).toBe(b.bytes.length);
  });

  it('grows to the next bucket and refuses what fits none', async () => {
    const { us, ir } = await world(suite);
    const big = await sealEnvelope(params(us, ir, suite, { ...note, body: 'y'.repeat(20_000) }));
    expect(big.bytes.length).toBe(65536);
    await expect(sealEnvelope(params(us, ir, suite, { ...note, body: 'z'.repeat(5_000_000) }))).rejects.toMatchObject({ code: 'too_large' });
  });

  it('lets a relay verify the station without reading anything', async () => {
    const { us, ir } = await world(suite);
    const sealed = await sealEnvelope(params(us, ir, suite, note));
    const env = parseEnvelope(sealed.bytes);
    verifyEnvelopeStation(env, us.bundle.bundle, T0);
    expect(Buffer.from(sealed.bytes).includes(Buffer.from('restraint'))).toBe(false);
  });
});

describe('envelope tampering', () => {
  it('rejects any single changed byte with a typed error', async () => {
    const { us, ir } = await world('x25519');
    const sealed = await sealEnvelope(params(us, ir, 'x25519', note));
    await fc.assert(
      fc.asyncProperty(fc.nat(sealed.bytes.length - 1), fc.integer({ min: 1, max: 255 }), async (i, x) => {
        const m = Uint8Array.from(sealed.bytes);
        m[i] = m[i]! ^ x;
        try {
          await openEnvelope(m, ctxFor(ir, us));
          expect.unreachable('a changed byte was accepted');
        } catch (e) {
          expect(isBackchannelError(e)).toBe(true);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('refuses a third party and a revoked station', async () => {
    const { us, ir, random } = await world('x25519');
    const sealed = await sealEnvelope(params(us, ir, 'x25519', note));
    const om = await createParty({ id: 'om', name: 'Oman', now: T0, random });
    await expect(openEnvelope(sealed.bytes, ctxFor(om, us))).rejects.toMatchObject({ code: 'not_for_us' });
    const revoked = { ...us.bundle, bundle: { ...us.bundle.bundle, revoked: [{ pub: us.station.key.publicKey, compromisedSince: T0, reason: 'seized' }] } };
    await expect(openEnvelope(sealed.bytes, { ...ctxFor(ir, us), senderBundle: revoked })).rejects.toMatchObject({ code: 'key_revoked' });
  });
});

describe('opening again what was opened before (`known`)', () => {
  const YEAR = 365 * 24 * 3600 * 1000;

  it('gives what a full opening gives, whatever the judgement: time, revocations, keys held, addressee, bundle held', async () => {
    const { us, ir, random } = await world('x25519');
    const om = await createParty({ id: 'om', name: 'Oman', now: T0, random });
    const sealed = await sealEnvelope(params(us, ir, 'x25519', note));
    const known = await openEnvelope(sealed.bytes, ctxFor(ir, us));
    const outcome = (p: Promise<unknown>) =>
      p.then(
        (o) => ({ ok: true as const, o }),
        (e: unknown) => ({ ok: false as const, code: isBackchannelError(e) ? e.code : String(e) }),
      );
    const codes = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          self: fc.constantFrom(ir, us, om),
          // Half the time inside the signer's certificate, so that every outcome is met often.
          judgedAt: fc.oneof(fc.integer({ min: T0, max: T0 + YEAR }), fc.integer({ min: T0 - YEAR, max: T0 + 4 * YEAR })),
          revoke: fc.option(fc.record({ what: fc.constantFrom('station', 'signer'), since: fc.integer({ min: T0 - YEAR, max: T0 + 2 * YEAR }) })),
          keyHeld: fc.boolean(),
          staleBundle: fc.boolean(),
        }),
        async (c) => {
          const base = ctxFor(c.self, us);
          let b = us.bundle.bundle;
          if (c.revoke !== null) {
            const pub = c.revoke.what === 'station' ? us.station.key.publicKey : us.signers[0]!.key.publicKey;
            b = { ...b, revoked: [{ pub, compromisedSince: c.revoke.since, reason: 'seized' }] };
          }
          if (c.staleBundle) b = { ...b, seq: sealed.header.bundleSeq - 1 };
          const ctx = { ...base, judgedAt: c.judgedAt, senderBundle: { ...us.bundle, bundle: b }, privateKeyFor: c.keyHeld ? base.privateKeyFor : () => undefined };
          const full = await outcome(openEnvelope(sealed.bytes, ctx));
          const again = await outcome(openEnvelope(sealed.bytes, ctx, known));
          expect(again).toEqual(full);
          codes.add(full.ok ? 'ok' : full.code);
        },
      ),
      { numRuns: 400 },
    );
    // The property met every judgement, not only the happy path.
    expect([...codes].sort()).toEqual(['bundle_stale', 'certificate_expired', 'key_revoked', 'key_unknown', 'not_for_us', 'ok']);
  });

  it('takes the signatures and the decryption from what it knew, and nothing else', async () => {
    const { us, ir } = await world('x25519');
    const sealed = await sealEnvelope(params(us, ir, 'x25519', note));
    const known = await openEnvelope(sealed.bytes, ctxFor(ir, us));
    // Content that these bytes do not hold comes back: it was not decrypted again.
    const marked = { ...known, content: { ...note, subject: 'from the earlier opening' } };
    expect((await openEnvelope(sealed.bytes, ctxFor(ir, us), marked)).content).toMatchObject({ subject: 'from the earlier opening' });
    // Other bytes, however close, are opened in full: one changed byte of the station signature fails as it would alone.
    const tampered = Uint8Array.from(sealed.bytes);
    tampered[tampered.length - 1]! ^= 1;
    await expect(openEnvelope(tampered, ctxFor(ir, us), known)).rejects.toMatchObject({ code: 'signature_invalid' });
  });

  it('ignores what it knew for any other bytes: every one-byte change gets the answer of a full opening', async () => {
    const { us, ir } = await world('x25519');
    const sealed = await sealEnvelope(params(us, ir, 'x25519', note));
    const known = await openEnvelope(sealed.bytes, ctxFor(ir, us));
    const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: unknown) => (isBackchannelError(e) ? e.code : String(e)));
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: sealed.bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), async (at, flip) => {
        const m = Uint8Array.from(sealed.bytes);
        m[at]! ^= flip;
        const again = await code(openEnvelope(m, ctxFor(ir, us), known));
        expect(again).not.toBe('ok');
        expect(again).toBe(await code(openEnvelope(m, ctxFor(ir, us))));
      }),
      { numRuns: 200 },
    );
  });
});

describe('opening what was parsed already', () => {
  it('takes parseEnvelope\'s own result as it is, and parses anything else of that shape again from its bytes', async () => {
    const { us, ir } = await world('x25519');
    const sealed = await sealEnvelope(params(us, ir, 'x25519', note));
    const fromBytes = await openEnvelope(sealed.bytes, ctxFor(ir, us));
    const env = parseEnvelope(sealed.bytes);
    expect(await openEnvelope(env, ctxFor(ir, us))).toEqual(fromBytes);
    // A look-alike whose fields do not match its bytes: the bytes decide.
    const other = parseEnvelope((await sealEnvelope(params(us, ir, 'x25519', { ...note, body: 'Another note.' }))).bytes);
    expect((await openEnvelope({ ...other, bytes: sealed.bytes }, ctxFor(ir, us))).content).toEqual(fromBytes.content);
  });
});

describe('what is signed', () => {
  it('by the station: cut from the envelope\'s own bytes, equal to CBOR{h, k, c} encoded afresh, in every bucket and suite', async () => {
    for (const suite of ['x25519', 'xwing'] as const) {
      const { us, ir } = await world(suite);
      for (const body of ['short', 'x'.repeat(5000), 'y'.repeat(70_000)]) {
        const env = parseEnvelope((await sealEnvelope(params(us, ir, suite, { ...note, body }))).bytes);
        const fresh = encodeCbor({ h: env.headerBytes, k: env.slots.map((x) => ({ p: x.party, kid: x.kid, e: x.enc, c: x.ct })), c: env.ciphertext });
        const parts = envelopeSignedParts(env);
        expect(parts.length).toBe(2);
        expect(concatBytes(...parts)).toEqual(fresh);
        // Bytes that are not such an envelope's are not cut: the value is encoded afresh.
        expect(concatBytes(...envelopeSignedParts({ ...env, bytes: env.bytes.subarray(0, env.bytes.length - 1) }))).toEqual(fresh);
      }
    }
  });

  it('by the signer: CBOR[SHA-256(header), content], written directly as encodeCbor writes it', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 70_000 }), (h, c) => {
        expect(concatBytes(...contentSignedParts(h, c))).toEqual(encodeCbor([h, c]));
      }),
      { numRuns: 200 },
    );
  });
});
