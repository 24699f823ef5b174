/**
 * Human-checkable fingerprints: 60 decimal digits in 12 groups of 5, read aloud or compared on
 * paper out of band. A party's fingerprint covers only its id and root key (DESIGN.md), so it
 * survives every rotation of other keys; a relay's covers its id, log origin and log key.
 *
 * Each group is 5 bytes of SHA-512 reduced mod 100000 (as Signal's safety numbers do), so the
 * 60 digits carry ~199 bits; the bias of the reduction is below 2^-20 per group.
 */
import { BackchannelError } from '../errors.js';
import { utf8 } from '../bytes.js';
import { sha512 } from '../hash.js';

const GROUPS = 12;

function digits(hash: Uint8Array): string {
  const groups: string[] = [];
  for (let g = 0; g < GROUPS; g++) {
    let n = 0;
    for (let i = 0; i < 5; i++) n = n * 256 + hash[g * 5 + i]!;
    groups.push(String(n % 100000).padStart(5, '0'));
  }
  return groups.join(' ');
}

export function partyFingerprint(partyId: string, rootKey: Uint8Array): string {
  return digits(sha512(utf8('backchannel/v1/fingerprint/party'), Uint8Array.of(0), utf8(partyId), Uint8Array.of(0), rootKey));
}

export function relayFingerprint(relayId: string, origin: string, logKey: Uint8Array): string {
  return digits(
    sha512(utf8('backchannel/v1/fingerprint/relay'), Uint8Array.of(0), utf8(relayId), Uint8Array.of(0), utf8(origin), Uint8Array.of(0), logKey),
  );
}

/** Accepts what a person types: digits with any spacing. Returns the canonical grouped form. */
export function normalizeFingerprint(input: string): string {
  if (typeof input !== 'string') throw new BackchannelError('fingerprint_mismatch', 'a fingerprint is 60 digits');
  const d = input.replace(/[\s-]/g, '');
  if (!/^[0-9]{60}$/.test(d)) throw new BackchannelError('fingerprint_mismatch', 'a fingerprint is 60 digits');
  return d.match(/.{5}/g)!.join(' ');
}

export function fingerprintsEqual(a: string, b: string): boolean {
  try {
    return normalizeFingerprint(a) === normalizeFingerprint(b);
  } catch {
    return false;
  }
}
