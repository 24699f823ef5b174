/**
 * Creating a party: its root (the seal), an encryption key per accepted suite, a first station
 * and its signers, all certified in bundle 1. Pure: randomness is injected; storing the secrets
 * (encrypted under passphrases) is the station's job.
 */
import { Ed25519Key } from '../ed25519.js';
import { generateKeyPair, serializePrivateKey, serializePublicKey } from '../hpke/keys.js';
import { suiteFromName } from '../hpke/suite.js';
import { systemRandom, type Random } from '../random.js';
import { signBundle, type AttributionLevel, type EncryptionKeyEntry, type SignedBundle, type SignerEntry, type SuiteName } from './bundle.js';
import { certifySigner } from './certificate.js';

/** Encryption keys rotate; the default lifetime (DESIGN.md: 30 days, old keys kept for an overlap). */
export const ENCRYPTION_KEY_LIFETIME_MS = 30 * 86_400_000;
export const SIGNER_LIFETIME_MS = 2 * 365 * 86_400_000;

export interface EncryptionSecret {
  suite: SuiteName;
  pub: Uint8Array;
  priv: Uint8Array;
  notBefore: number;
  notAfter: number;
}

export interface SignerSecret {
  entry: SignerEntry;
  key: Ed25519Key;
  certificate: Uint8Array;
}

export interface NewParty {
  root: Ed25519Key;
  station: { id: string; key: Ed25519Key };
  signers: SignerSecret[];
  encryption: EncryptionSecret[];
  bundle: SignedBundle;
}

export interface SignerSpec {
  id: string;
  name: string;
  title: string;
  level: AttributionLevel;
}

export async function newEncryptionKey(suite: SuiteName, now: number, random: Random, lifetimeMs = ENCRYPTION_KEY_LIFETIME_MS): Promise<EncryptionSecret> {
  const kp = await generateKeyPair(suiteFromName(suite), random);
  return { suite, pub: serializePublicKey(kp.publicKey), priv: serializePrivateKey(kp.privateKey), notBefore: now, notAfter: now + lifetimeMs };
}

export async function createParty(p: {
  id: string;
  name: string;
  now: number;
  suites?: SuiteName[];
  stationId?: string;
  signers?: SignerSpec[];
  random?: Random;
}): Promise<NewParty> {
  const random = p.random ?? systemRandom;
  const suites = p.suites ?? ['x25519'];
  const root = Ed25519Key.generate(random);
  const station = { id: p.stationId ?? 'desk-1', key: Ed25519Key.generate(random) };
  const specs = p.signers ?? [{ id: 'institution', name: p.name, title: 'Institutional', level: 'institutional' as const }];
  const encryption: EncryptionSecret[] = [];
  for (const s of suites) encryption.push(await newEncryptionKey(s, p.now, random));
  const signerKeys = specs.map((s) => ({ spec: s, key: Ed25519Key.generate(random) }));
  const entries: SignerEntry[] = signerKeys.map(({ spec, key }) => ({ ...spec, pub: key.publicKey, notBefore: p.now, notAfter: p.now + SIGNER_LIFETIME_MS }));
  const enc: EncryptionKeyEntry[] = encryption.map((e) => ({ suite: e.suite, pub: e.pub, notBefore: e.notBefore, notAfter: e.notAfter }));
  const bundle = signBundle(root, {
    party: p.id,
    name: p.name,
    seq: 1,
    issued: p.now,
    root: root.publicKey,
    prev: undefined,
    suites,
    enc,
    signers: entries,
    stations: [{ id: station.id, pub: station.key.publicKey, notBefore: p.now }],
    revoked: [],
  });
  const signers = signerKeys.map(({ key }, i) => ({ entry: entries[i]!, key, certificate: certifySigner(root, p.id, entries[i]!) }));
  return { root, station, signers, encryption, bundle };
}
