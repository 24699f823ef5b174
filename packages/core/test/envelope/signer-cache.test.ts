/**
 * Signer certificates opened once per exact bytes (envelope/signer-cache.ts): the same answer as
 * opening them afresh, never another certificate's, and bytes that do not open are refused
 * every time and never kept.
 */
import { describe, expect, it } from 'vitest';
import { isBackchannelError } from '../../src/errors.js';
import { deterministicRandomForTests } from '../../src/random.js';
import { createParty } from '../../src/identity/party-keys.js';
import { openSignerCertificate } from '../../src/identity/certificate.js';
import { openSignerCertificateCached, signerCacheSize } from '../../src/envelope/signer-cache.js';

const T0 = Date.UTC(2026, 0, 1);

describe('openSignerCertificateCached', async () => {
  const random = deterministicRandomForTests('signer-cache');
  const p = await createParty({
    id: 'us',
    name: 'United States',
    now: T0,
    random,
    signers: [
      { id: 'state.secretary', name: 'Jane Doe', title: 'Secretary of State', level: 'official' },
      { id: 'institution', name: 'United States', title: 'Institutional', level: 'institutional' },
    ],
  });
  const [a, b] = p.signers.map((s) => s.certificate) as [Uint8Array, Uint8Array];

  it('answers as openSignerCertificate does, for each certificate its own', () => {
    for (let i = 0; i < 2; i++) {
      expect(openSignerCertificateCached(a)).toEqual(openSignerCertificate(a));
      expect(openSignerCertificateCached(b)).toEqual(openSignerCertificate(b));
    }
    expect(openSignerCertificateCached(a).id).toBe('state.secretary');
    expect(openSignerCertificateCached(b).id).toBe('institution');
  });

  it('hands out copies: writing into one does not change what the next caller gets', () => {
    const first = openSignerCertificateCached(a);
    first.pub.fill(0);
    first.bytes.fill(0);
    (first as { id: string }).id = 'someone.else';
    expect(openSignerCertificateCached(a)).toEqual(openSignerCertificate(a));
  });

  it('refuses a certificate with any one byte changed, every time, and keeps nothing of it', () => {
    const held = signerCacheSize();
    for (const at of [0, 10, Math.floor(a.length / 2), a.length - 1]) {
      const bad = Uint8Array.from(a);
      bad[at]! ^= 0x01;
      for (let i = 0; i < 2; i++) {
        let caught: unknown;
        try {
          openSignerCertificateCached(bad);
        } catch (e) {
          caught = e;
        }
        expect(isBackchannelError(caught)).toBe(true);
      }
    }
    expect(signerCacheSize()).toBe(held);
  });
});
