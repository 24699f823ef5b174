/**
 * The keys a desk works with, decrypted by the caller (the CLI holds the passphrases and the
 * key files; DESIGN.md "Identities": the root stays apart and is never needed here).
 *
 * `loadDeskKeys` checks them against the party's own bundle once, at open, so a desk with a
 * revoked station key or a signer its root never certified fails loudly before it seals
 * anything, and imports the HPKE private keys once (importing costs; NODE20.md).
 */
import {
  BackchannelError,
  encryptionKeyId,
  equalBytes,
  findStation,
  importPrivateKey,
  openSignerCertificate,
  suiteFromName,
  toHex,
  verifySignerCertificate,
  type Ed25519Key,
  type HpkePrivateKey,
  type SignedBundle,
  type SignerCertificate,
  type SuiteName,
} from '@backchannel/core';

export interface StationKeys {
  /** This desk's party id. */
  party: string;
  /** The party's newest root-signed bundle. */
  bundle: SignedBundle;
  /** This desk's station key (it signs envelopes, tokens, requests and copy acknowledgements). */
  station: { id: string; key: Ed25519Key };
  /** Signers this desk may sign notes as; the first is the default. */
  signers: readonly { id: string; key: Ed25519Key; certificate: Uint8Array }[];
  /** The party's encryption private keys, current and older ones still held (to read old notes). */
  encryption: readonly { suite: SuiteName; pub: Uint8Array; priv: Uint8Array }[];
  /** The 32-byte key that encrypts notes' contents at rest. */
  storageKey: Uint8Array;
  /**
   * This desk's own key-agreement private key, whose public key the bundle certifies in the
   * desk's station entry (`kx`): key shares from the party's other desks are sealed to it.
   */
  desk?: { suite: SuiteName; priv: Uint8Array };
}

export interface DeskSigner {
  id: string;
  key: Ed25519Key;
  certificate: Uint8Array;
  cert: SignerCertificate;
}

export interface DeskKeys {
  party: string;
  bundle: SignedBundle;
  station: { id: string; key: Ed25519Key };
  signers: DeskSigner[];
  /** Imported HPKE private keys by key id (hex of SHA-256(pub)[0..8]). */
  decryption: Map<string, { suite: SuiteName; key: HpkePrivateKey }>;
  storageKey: Uint8Array;
  /** This desk's key-agreement public key, when it has one (its private key is in `decryption`). */
  desk: { suite: SuiteName; pub: Uint8Array } | undefined;
}

export async function loadDeskKeys(k: StationKeys, now: number): Promise<DeskKeys> {
  const b = k.bundle.bundle;
  if (b.party !== k.party) throw new BackchannelError('argument_invalid', `the bundle is party ${b.party}'s, not ${k.party}'s`);
  const entry = findStation(b, k.station.key.publicKey, now);
  if (k.signers.length === 0) throw new BackchannelError('argument_invalid', 'a desk needs at least one signer');
  const signers = k.signers.map((s) => {
    const cert = openSignerCertificate(s.certificate);
    verifySignerCertificate(cert, k.party, b.root, now, b);
    if (!equalBytes(cert.pub, s.key.publicKey)) throw new BackchannelError('certificate_invalid', `signer ${s.id}'s key does not match its certificate`);
    if (cert.id !== s.id) throw new BackchannelError('certificate_invalid', `signer ${s.id}'s certificate names ${cert.id}`);
    return { id: s.id, key: s.key, certificate: s.certificate, cert };
  });
  const decryption = new Map<string, { suite: SuiteName; key: HpkePrivateKey }>();
  for (const e of k.encryption) {
    const key = await importPrivateKey(suiteFromName(e.suite), e.priv);
    if (!equalBytes(key.publicKey.toBytes(), e.pub)) throw new BackchannelError('key_invalid', `an ${e.suite} encryption private key does not match its public key`);
    decryption.set(toHex(encryptionKeyId(e.pub)), { suite: e.suite, key });
  }
  let desk: DeskKeys['desk'];
  if (k.desk !== undefined) {
    const key = await importPrivateKey(suiteFromName(k.desk.suite), k.desk.priv);
    const pub = key.publicKey.toBytes();
    // A desk key the bundle does not certify for this station is not used (an old home, or a
    // bundle that replaced it): shares sealed to it would not come from this party's root.
    if (entry.kx !== undefined && entry.kx.suite === k.desk.suite && equalBytes(entry.kx.pub, pub)) {
      decryption.set(toHex(encryptionKeyId(pub)), { suite: k.desk.suite, key });
      desk = { suite: k.desk.suite, pub };
    }
  }
  return { party: k.party, bundle: k.bundle, station: k.station, signers, decryption, storageKey: k.storageKey, desk };
}

/** The OpenContext lookup: our private key for a slot's key id, if we hold it. */
export function privateKeyFor(keys: DeskKeys, kid: Uint8Array, suite: SuiteName): HpkePrivateKey | undefined {
  const k = keys.decryption.get(toHex(kid));
  return k !== undefined && k.suite === suite ? k.key : undefined;
}
