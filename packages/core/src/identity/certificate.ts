/**
 * Signer certificates: the root's statement "this key speaks for office or official X of
 * party P from nb to na". Every note carries its signer's certificate inside the encryption,
 * so a recipient can verify attribution with nothing but the pinned root — even years later,
 * from an archive, when the bundle of the day is long replaced.
 */
import { BackchannelError } from '../errors.js';
import { equalBytes } from '../bytes.js';
import type { Ed25519Key } from '../ed25519.js';
import { LABELS } from '../labels.js';
import { MapReader } from '../schema.js';
import { openSigned, signStructure } from '../signed.js';
import { ATTRIBUTION_LEVELS, assertNotRevoked, type AttributionLevel, type KeyBundle, type SignerEntry } from './bundle.js';
import { DISPLAY_RE, KEY_ID_RE, PARTY_ID_RE } from './ids.js';

export interface SignerCertificate {
  party: string;
  id: string;
  pub: Uint8Array;
  name: string;
  title: string;
  level: AttributionLevel;
  notBefore: number;
  notAfter: number;
  /** The root key that signed it. */
  root: Uint8Array;
  /** The exact signed bytes. */
  bytes: Uint8Array;
}

const MAX_CERT_BYTES = 4096;

export function certifySigner(root: Ed25519Key, party: string, s: SignerEntry): Uint8Array {
  return signStructure(root, LABELS.signer, {
    v: 1,
    party,
    id: s.id,
    pub: s.pub,
    name: s.name,
    title: s.title,
    level: s.level,
    nb: s.notBefore,
    na: s.notAfter,
  });
}

/** Verifies the root's signature and parses. Whether the root is the party's pinned one is checked in `verifySignerCertificate`. */
export function openSignerCertificate(bytes: Uint8Array): SignerCertificate {
  const o = openSigned(bytes, LABELS.signer, 'certificate_invalid', MAX_CERT_BYTES);
  const r = new MapReader(o.body, 'signer certificate');
  const v = r.uint('v');
  const c: SignerCertificate = {
    party: r.text('party', { pattern: PARTY_ID_RE }),
    id: r.text('id', { pattern: KEY_ID_RE }),
    pub: r.bytes('pub', { len: 32 }),
    name: r.text('name', { pattern: DISPLAY_RE }),
    title: r.text('title', { pattern: DISPLAY_RE }),
    level: r.text('level', { oneOf: ATTRIBUTION_LEVELS }) as AttributionLevel,
    notBefore: r.uint('nb'),
    notAfter: r.uint('na'),
    root: o.key,
    bytes,
  };
  if (v !== 1) r.problems.push('signer certificate.v must be 1');
  r.done('certificate_invalid');
  return c;
}

/**
 * The full check of a certificate for party `party` under `pinnedRoot`, judged at `judgedAt`
 * (the note's earliest verified log inclusion, else its creation time): signed by the pinned
 * root, inside its validity window, and not revoked by `bundle` (the newest held) at that time.
 */
export function verifySignerCertificate(
  cert: SignerCertificate,
  party: string,
  pinnedRoot: Uint8Array,
  judgedAt: number,
  bundle?: KeyBundle,
): void {
  if (cert.party !== party) throw new BackchannelError('certificate_invalid', `certificate is for party ${cert.party}, not ${party}`);
  if (!equalBytes(cert.root, pinnedRoot)) throw new BackchannelError('root_mismatch', `signer certificate of ${party} is not signed by its pinned root`);
  if (judgedAt < cert.notBefore || judgedAt >= cert.notAfter) {
    throw new BackchannelError('certificate_expired', `signer ${cert.id} was not certified at ${new Date(judgedAt).toISOString()}`);
  }
  if (bundle !== undefined) assertNotRevoked(bundle, cert.pub, judgedAt, `signer ${cert.id}`);
}
