/**
 * `backchannel rotate [--overlap DAYS] --home DIR`: encryption key rotation, a root operation
 * (DESIGN.md, "Identities, rotation, revocation": encryption keys rotate, default 30 days, old
 * private keys destroyed after an overlap).
 *
 * It makes a new encryption key for every suite the party accepts (keys/enc-SUITE-N.key, the
 * next N, under the station passphrase), signs a new bundle that lists them beside the old ones,
 * and publishes it to every relay, then hands the keys to the party's other desks (each sealed to
 * that desk's own key, docs/protocol.md §4.8), then sends the bundle, sealed, to every pinned
 * peer party. Senders seal to the
 * newest key of a suite, so new notes go to the new keys at once. An old key stays in the bundle
 * until the end of the overlap (its validity is cut to now + overlap, never lengthened) and its
 * private key stays in the home, so notes sealed to it before the peer learned the new bundle
 * still open. A rotation also ends what has run out: an old key whose validity has passed
 * leaves the bundle and its private key file is destroyed (the notes it opened stay readable in
 * the archive, encrypted at rest under the storage key).
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { ENCRYPTION_KEY_LIFETIME_MS, equalBytes, importPrivateKey, newEncryptionKey, serializePublicKey, signBundle, suiteFromName, systemRandom, type EncryptionKeyEntry, type SuiteName } from '@backchannel/core';
import { usage } from '../errors.js';
import { quote } from '../flags.js';
import { LAYOUT, MODE, readHomeFile, writeFileAtomic, type Home, type PartyHomeJson } from '../home.js';
import { KEY_LABELS, openKeyFile, sealKeyFile } from '../keyfiles.js';
import { partyHomeOf } from '../party.js';
import { humanPublished, installBundle, publishEverywhere, publishFailures, unlockRoot, type Published } from '../root.js';
import { table, when } from '../table.js';
import { optionsOf, stringOption, withCommonOptions, type Context } from '../context.js';

const DAY_MS = 86_400_000;
export const DEFAULT_OVERLAP_DAYS = 30;
const ENC_FILE_RE = /^enc-([a-z0-9]+)-([1-9][0-9]{0,5})\.key$/;

export function parseOverlap(value: string): number {
  const n = /^[0-9]+(?:\.[0-9]+)?$/.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(n) || n > 365) throw usage(`--overlap ${quote(value)} is not valid: give a number of days from 0 to 365 (e.g. 30)`);
  return n;
}

export interface RotateResult {
  party: string;
  seq: number;
  overlap_days: number;
  /** The new keys: suite, file, valid from/until. */
  added: { suite: SuiteName; file: string; not_before: number; not_after: number }[];
  /** Old keys kept until the end of the overlap. */
  kept: { suite: SuiteName; file: string | null; until: number }[];
  /** Private key files destroyed (their keys had run out). */
  destroyed: string[];
}

export async function rotate(ctx: Context, home: Home<PartyHomeJson>, overlapDays: number): Promise<RotateResult & Published> {
  const { root, stationPass, old } = await unlockRoot(ctx, home, 'rotating the encryption keys');
  const b = old.bundle;
  const party = b.party;
  const now = Date.now();
  const overlapEnd = now + Math.round(overlapDays * DAY_MS);

  // Which file holds which key (the file name says the suite; the key inside says which one).
  ctx.out.progress('Reading the encryption key files…');
  const files: { name: string; suite: SuiteName; n: number; pub: Uint8Array }[] = [];
  for (const name of (await readdir(join(home.dir, LAYOUT.keys))).sort()) {
    const m = ENC_FILE_RE.exec(name);
    if (m === null) continue;
    const suite = m[1] as SuiteName;
    const n = Number(m[2]);
    const priv = openKeyFile(stationPass, KEY_LABELS.encryption(party, suite, n), await readHomeFile(home, `${LAYOUT.keys}/${name}`));
    try {
      const key = await importPrivateKey(suiteFromName(suite), priv);
      files.push({ name, suite, n, pub: serializePublicKey(key.publicKey) });
    } finally {
      priv.fill(0);
    }
  }
  const fileOf = (e: EncryptionKeyEntry): string | null => files.find((f) => f.suite === e.suite && equalBytes(f.pub, e.pub))?.name ?? null;

  // Old keys: those run out leave; the others stay until the end of the overlap at the latest.
  const expired = b.enc.filter((e) => e.notAfter <= now);
  const kept = b.enc.filter((e) => e.notAfter > now).map((e) => ({ ...e, notAfter: Math.max(e.notBefore + 1, Math.min(e.notAfter, overlapEnd)) }));
  const added: RotateResult['added'] = [];
  const newEntries: EncryptionKeyEntry[] = [];
  const writes: { rel: string; data: Uint8Array }[] = [];
  for (const suite of b.suites) {
    const k = await newEncryptionKey(suite, now, systemRandom, ENCRYPTION_KEY_LIFETIME_MS);
    const n = files.filter((f) => f.suite === suite).reduce((m, f) => Math.max(m, f.n), 0) + 1;
    const rel = LAYOUT.encryptionKey(suite, n);
    writes.push({ rel, data: sealKeyFile(stationPass, KEY_LABELS.encryption(party, suite, n), k.priv, ctx.io.env) });
    k.priv.fill(0);
    newEntries.push({ suite, pub: k.pub, notBefore: k.notBefore, notAfter: k.notAfter });
    added.push({ suite, file: rel, not_before: k.notBefore, not_after: k.notAfter });
  }
  const next = signBundle(root, { ...b, seq: b.seq + 1, issued: now, prev: old.hash, enc: [...kept, ...newEntries] });

  // New private keys first (unused until the bundle names them), then the bundle, then destruction.
  for (const w of writes) await writeFileAtomic(join(home.dir, w.rel), w.data, MODE.secret);
  await installBundle(home, next);
  const destroyed: string[] = [];
  for (const f of files) {
    const inNext = next.bundle.enc.some((e) => e.suite === f.suite && equalBytes(e.pub, f.pub));
    if (inNext) continue;
    // Only keys that ran out (or that no bundle lists any more) are destroyed.
    if (expired.some((e) => e.suite === f.suite && equalBytes(e.pub, f.pub)) || !b.enc.some((e) => e.suite === f.suite && equalBytes(e.pub, f.pub))) {
      await rm(join(home.dir, LAYOUT.keys, f.name), { force: true });
      destroyed.push(`${LAYOUT.keys}/${f.name}`);
    }
  }
  const published = await publishEverywhere(ctx, home, stationPass);
  return {
    party,
    seq: next.bundle.seq,
    overlap_days: overlapDays,
    added,
    kept: kept.map((e) => ({ suite: e.suite, file: fileOf(e) === null ? null : `${LAYOUT.keys}/${fileOf(e)!}`, until: e.notAfter })),
    destroyed,
    ...published,
  };
}

export function registerRotate(program: Command, ctx: Context): void {
  withCommonOptions(
    program
      .command('rotate')
      .description('rotate the encryption keys (a root operation): new keys, a new bundle published to the relays and the peer parties')
      .option('--overlap <days>', `how long old private keys are kept after the rotation, in days (default ${DEFAULT_OVERLAP_DAYS})`),
  ).action(async (...args: unknown[]) => {
    const o = optionsOf(args);
    const ov = stringOption(o, 'overlap');
    const overlap = ov === undefined ? DEFAULT_OVERLAP_DAYS : parseOverlap(ov);
    const home = await partyHomeOf(ctx, o, 'rotate');
    const r = await rotate(ctx, home, overlap);
    const lines = [
      `Rotated the encryption keys of party ${r.party}, under bundle ${r.seq}.`,
      table(
        [{ title: 'KEY' }, { title: 'SUITE' }, { title: 'STATE' }],
        [
          ...r.added.map((a) => [a.file, a.suite, `new, valid until ${when(a.not_after)}`]),
          ...r.kept.map((k) => [k.file ?? '(not in this home)', k.suite, `old, kept until ${when(k.until)}`]),
          ...r.destroyed.map((d) => [d, '', 'destroyed']),
        ],
      ),
      humanPublished(r),
    ];
    await ctx.out.result(lines.join('\n'), r);
    const failed = publishFailures(r);
    if (failed.length > 0) ctx.out.warn(`the new bundle did not reach ${failed.join(', ')}: run 'backchannel station publish --home ${home.dir}' again`);
  });
}
