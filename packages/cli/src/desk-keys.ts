/**
 * The home's side of key delivery to the party's other desks (docs/protocol.md §4.8,
 * @backchannel/station `shareKeys` and `installKeys`):
 *
 * - `readKeyMaterial`: what the root-holding desk hands over after a root operation — every
 *   encryption key file and every signer key file with its certificate, decrypted with the
 *   station passphrase (the station sends only what the new bundle lists).
 * - `installKeysInHome`: what a receiving desk does with a checked share before it uses it —
 *   new encryption keys as the next `enc-SUITE-N.key` files, signer keys and certificates
 *   replaced, all sealed under this desk's station passphrase, then the bundle and card. Keys
 *   first: a bundle naming keys the home does not hold would be worse than the reverse.
 * - `readDeskKey`: this desk's own key-agreement private key (keys/desk.key), absent in homes
 *   enrolled before key delivery.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Ed25519Key, equalBytes, importPrivateKey, partyCardJson, serializePublicKey, suiteFromName, type SuiteName } from '@backchannel/core';
import type { KeyMaterial, ReceivedKeys } from '@backchannel/station';
import { LAYOUT, MODE, readHomeFile, writeFileAtomic, type Home, type PartyHomeJson } from './home.js';
import { KEY_LABELS, openKeyFile, sealKeyFile } from './keyfiles.js';

const ENC_FILE_RE = /^enc-([a-z0-9]+)-([1-9][0-9]{0,5})\.key$/;
const SIGNER_FILE_RE = /^signer-(.+)\.key$/;

interface EncFile {
  name: string;
  suite: SuiteName;
  n: number;
  pub: Uint8Array;
  priv: Uint8Array;
}

async function readEncFiles(home: Home<PartyHomeJson>, pass: string): Promise<EncFile[]> {
  const out: EncFile[] = [];
  for (const name of (await readdir(join(home.dir, LAYOUT.keys))).sort()) {
    const m = ENC_FILE_RE.exec(name);
    if (m === null) continue;
    const suite = m[1] as SuiteName;
    const n = Number(m[2]);
    const priv = openKeyFile(pass, KEY_LABELS.encryption(home.json.id, suite, n), await readHomeFile(home, `${LAYOUT.keys}/${name}`));
    out.push({ name, suite, n, pub: serializePublicKey((await importPrivateKey(suiteFromName(suite), priv)).publicKey), priv });
  }
  return out;
}

/** The party's private keys held in this home (the caller zeroes them after use). */
export async function readKeyMaterial(home: Home<PartyHomeJson>, pass: string): Promise<KeyMaterial> {
  const enc = (await readEncFiles(home, pass)).map((f) => ({ suite: f.suite, priv: f.priv }));
  const signers: { id: string; seed: Uint8Array; certificate: Uint8Array }[] = [];
  for (const name of (await readdir(join(home.dir, LAYOUT.keys))).sort()) {
    const m = SIGNER_FILE_RE.exec(name);
    if (m === null) continue;
    const id = m[1]!;
    let certificate: Uint8Array;
    try {
      certificate = await readHomeFile(home, LAYOUT.signerCert(id));
    } catch {
      continue; // a signer key without its certificate cannot sign; the station sends only certified ones
    }
    signers.push({ id, seed: openKeyFile(pass, KEY_LABELS.signer(home.json.id, id), await readHomeFile(home, LAYOUT.signerKey(id))), certificate });
  }
  return { enc, signers };
}

export function wipeKeyMaterial(m: KeyMaterial): void {
  for (const e of m.enc) e.priv.fill(0);
  for (const s of m.signers) s.seed.fill(0);
}

/** Writes a checked share's keys into the home, then its bundle and card (see the header). */
export async function installKeysInHome(home: Home<PartyHomeJson>, pass: string, env: NodeJS.ProcessEnv, keys: ReceivedKeys): Promise<void> {
  const party = home.json.id;
  const held = await readEncFiles(home, pass);
  try {
    for (const e of keys.enc) {
      if (held.some((f) => f.suite === e.suite && equalBytes(f.pub, e.pub))) continue;
      const n = held.filter((f) => f.suite === e.suite).reduce((m, f) => Math.max(m, f.n), 0) + 1;
      await writeFileAtomic(join(home.dir, LAYOUT.encryptionKey(e.suite, n)), sealKeyFile(pass, KEY_LABELS.encryption(party, e.suite, n), e.priv, env), MODE.secret);
      held.push({ name: '', suite: e.suite, n, pub: e.pub, priv: new Uint8Array(0) });
    }
  } finally {
    for (const f of held) f.priv.fill(0);
  }
  for (const s of keys.signers) {
    let same: boolean;
    try {
      const seed = openKeyFile(pass, KEY_LABELS.signer(party, s.id), await readHomeFile(home, LAYOUT.signerKey(s.id)));
      same = equalBytes(Ed25519Key.fromSeed(seed).publicKey, Ed25519Key.fromSeed(s.seed).publicKey) && equalBytes(await readHomeFile(home, LAYOUT.signerCert(s.id)), s.certificate);
      seed.fill(0);
    } catch {
      same = false; // not held yet (or unreadable): written below
    }
    if (same) continue;
    await writeFileAtomic(join(home.dir, LAYOUT.signerKey(s.id)), sealKeyFile(pass, KEY_LABELS.signer(party, s.id), s.seed, env), MODE.secret);
    await writeFileAtomic(join(home.dir, LAYOUT.signerCert(s.id)), s.certificate, MODE.public);
  }
  await writeFileAtomic(join(home.dir, LAYOUT.bundle), keys.bundle.bytes, MODE.public);
  await writeFileAtomic(join(home.dir, LAYOUT.card), `${JSON.stringify(partyCardJson(keys.bundle), null, 2)}\n`, MODE.public);
}

/** This desk's key-agreement private key, if the home has one (keys/desk.key). */
export async function readDeskKey(home: Home<PartyHomeJson>, pass: string, suite: SuiteName): Promise<{ suite: SuiteName; priv: Uint8Array } | undefined> {
  let file: Uint8Array;
  try {
    file = await readHomeFile(home, LAYOUT.deskKey);
  } catch {
    return undefined; // enrolled before key delivery: new keys come by hand (docs/cli.md)
  }
  return { suite, priv: openKeyFile(pass, KEY_LABELS.desk(home.json.id, home.json.station), file) };
}
