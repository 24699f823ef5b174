/**
 * `backchannel signer add ID --name NAME --title TITLE --level institutional|official`,
 * `signer list`, `signer revoke ID [--compromised-since ISO|now] [--reason TEXT]`.
 *
 * `add` and `revoke` are root operations (keys/root.key and BACKCHANNEL_ROOT_PASSPHRASE;
 * DESIGN.md, "Identities, rotation, revocation"): each signs a new bundle (sequence + 1, `prev`
 * the old bundle's hash), installs it in the home, and publishes it to every relay and, sealed,
 * to every pinned peer party.
 *
 * `add` makes the signer's key (keys/signer-ID.key, under the station passphrase) and its
 * root-signed certificate (certs/signer-ID.cert). `revoke` removes the signer from the bundle,
 * lists its key under `revoked` with `compromised_since` (default: now), and destroys this home's
 * copy of its private key. Every signature is judged at its earliest verified log inclusion:
 * notes the signer signed before `compromised_since` still hold, in archives too; anything
 * logged at or after it is refused.
 */
import { access, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { ATTRIBUTION_LEVELS, Ed25519Key, SIGNER_LIFETIME_MS, certifySigner, equalBytes, findRevocation, openSignerCertificate, signBundle, toHex, type AttributionLevel, type SignerEntry } from '@backchannel/core';
import { usage } from '../errors.js';
import { parseDisplay, parseKeyId, quote } from '../flags.js';
import { LAYOUT, MODE, writeFileAtomic, type Home, type PartyHomeJson } from '../home.js';
import { KEY_LABELS, sealKeyFile } from '../keyfiles.js';
import { partyHomeOf } from '../party.js';
import { humanPublished, installBundle, publishEverywhere, publishFailures, unlockRoot, type Published } from '../root.js';
import { readBundle } from '../station-home.js';
import { table, when } from '../table.js';
import { optionsOf, stringOption, withCommonOptions, type Context } from '../context.js';

export interface SignerView {
  id: string;
  name: string;
  title: string;
  level: AttributionLevel;
  not_before: number;
  not_after: number;
  /** Whether this home holds the signer's private key. */
  held: boolean;
  status: 'active' | 'expired';
}

export interface RevokedView {
  /** The signer id, when this home still holds its certificate. */
  id: string | null;
  key: string;
  compromised_since: number;
  reason: string;
}

export function parseLevel(value: string): AttributionLevel {
  if (!(ATTRIBUTION_LEVELS as readonly string[]).includes(value)) throw usage(`--level ${quote(value)} is not valid: use ${ATTRIBUTION_LEVELS.join(' or ')}`);
  return value as AttributionLevel;
}

/** `--compromised-since`: `now`, or an ISO 8601 time with a zone (e.g. 2025-03-01T12:00:00Z), not in the future. */
export function parseCompromisedSince(value: string, now: number): number {
  if (value === 'now') return now;
  const ok = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2}))?$/.test(value);
  const t = ok ? Date.parse(value) : NaN;
  if (!Number.isFinite(t)) throw usage(`--compromised-since ${quote(value)} is not valid: give now, or an ISO 8601 time with its zone (e.g. "2025-03-01T12:00:00Z")`);
  if (t > now) throw usage('--compromised-since is in the future: a revocation covers what has been signed, give now or an earlier time');
  return t;
}

async function exists(home: Home, rel: string): Promise<boolean> {
  return access(join(home.dir, rel)).then(
    () => true,
    () => false,
  );
}

export async function listSigners(home: Home<PartyHomeJson>): Promise<{ party: string; seq: number; signers: SignerView[]; revoked: RevokedView[] }> {
  const b = (await readBundle(home)).bundle;
  const now = Date.now();
  const signers: SignerView[] = [];
  for (const s of b.signers) {
    signers.push({ id: s.id, name: s.name, title: s.title, level: s.level, not_before: s.notBefore, not_after: s.notAfter, held: await exists(home, LAYOUT.signerKey(s.id)), status: s.notAfter <= now ? 'expired' : 'active' });
  }
  const certs = new Map<string, string>();
  for (const f of await readdir(join(home.dir, LAYOUT.certs)).catch(() => [] as string[])) {
    try {
      const c = openSignerCertificate(new Uint8Array(await readFile(join(home.dir, LAYOUT.certs, f))));
      certs.set(toHex(c.pub), c.id);
    } catch {
      // not a certificate of ours
    }
  }
  const revoked = b.revoked.map((r) => ({ id: certs.get(toHex(r.pub)) ?? null, key: toHex(r.pub).slice(0, 16), compromised_since: r.compromisedSince, reason: r.reason }));
  return { party: b.party, seq: b.seq, signers, revoked };
}

export async function signerAdd(ctx: Context, home: Home<PartyHomeJson>, spec: { id: string; name: string; title: string; level: AttributionLevel }): Promise<{ party: string; signer: string; seq: number } & Published> {
  const { root, stationPass, old } = await unlockRoot(ctx, home, 'adding a signer');
  const b = old.bundle;
  if ([...b.signers, ...b.stations].some((k) => k.id === spec.id)) throw usage(`party ${b.party} already has a signer or station ${spec.id}; choose another id, or revoke that signer first`);
  const now = Date.now();
  const key = Ed25519Key.generate();
  const entry: SignerEntry = { ...spec, pub: key.publicKey, notBefore: now, notAfter: now + SIGNER_LIFETIME_MS };
  const next = signBundle(root, { ...b, seq: b.seq + 1, issued: now, prev: old.hash, signers: [...b.signers, entry] });
  const certificate = certifySigner(root, b.party, entry);
  const seed = key.exportSeed();
  const file = sealKeyFile(stationPass, KEY_LABELS.signer(b.party, spec.id), seed, ctx.io.env);
  seed.fill(0);
  // The key and its certificate first: a bundle naming a signer whose key is not here yet would
  // leave the desk unable to sign as it; a key without the bundle is simply unused.
  await writeFileAtomic(join(home.dir, LAYOUT.signerKey(spec.id)), file, MODE.secret);
  await writeFileAtomic(join(home.dir, LAYOUT.signerCert(spec.id)), certificate, MODE.public);
  await installBundle(home, next);
  const published = await publishEverywhere(ctx, home, stationPass);
  return { party: b.party, signer: spec.id, seq: next.bundle.seq, ...published };
}

export async function signerRevoke(
  ctx: Context,
  home: Home<PartyHomeJson>,
  id: string,
  opts: { compromisedSince: string | undefined; reason: string | undefined },
): Promise<{ party: string; signer: string; seq: number; compromised_since: number } & Published> {
  const current = (await readBundle(home)).bundle;
  const entry = current.signers.find((s) => s.id === id);
  if (entry === undefined) throw usage(`party ${current.party} has no signer ${id} in its current bundle (see 'backchannel signer list')`);
  const now = Date.now();
  const since = parseCompromisedSince(opts.compromisedSince ?? 'now', now);
  const rest = current.signers.filter((s) => s.id !== id && s.notAfter > now && findRevocation(current, s.pub) === undefined);
  if (rest.length === 0) throw usage(`${id} is party ${current.party}'s last signer: add another with 'backchannel signer add' first, or no note could be signed`);
  const { root, stationPass, old } = await unlockRoot(ctx, home, 'revoking a signer');
  const b = old.bundle;
  const reason = opts.reason ?? `signer ${id} revoked`;
  const next = signBundle(root, {
    ...b,
    seq: b.seq + 1,
    issued: now,
    prev: old.hash,
    signers: b.signers.filter((s) => !equalBytes(s.pub, entry.pub)),
    revoked: [...b.revoked.filter((r) => !equalBytes(r.pub, entry.pub)), { pub: entry.pub, compromisedSince: since, reason }],
  });
  await installBundle(home, next);
  // This home's copy of the private key is destroyed; the certificate stays (public, it names the
  // revoked key in `signer list`).
  await rm(join(home.dir, LAYOUT.signerKey(id)), { force: true });
  const published = await publishEverywhere(ctx, home, stationPass);
  return { party: b.party, signer: id, seq: next.bundle.seq, compromised_since: since, ...published };
}

function warnFailures(ctx: Context, home: Home, p: Published): void {
  const failed = publishFailures(p);
  if (failed.length > 0) ctx.out.warn(`the new bundle did not reach ${failed.join(', ')}: run 'backchannel station publish --home ${home.dir}' again`);
}

export function registerSigner(program: Command, ctx: Context): void {
  const signer = program.command('signer').description('the offices and officials this party signs as: signer add, signer list, signer revoke (add and revoke need the root key)');
  withCommonOptions(
    signer
      .command('add')
      .description('certify a new signer (a root operation): a new bundle, published to the relays and the peer parties')
      .argument('<id>', 'the signer id, e.g. mfa.minister')
      .requiredOption('--name <name>', 'the office or the official’s name')
      .requiredOption('--title <title>', 'the title shown with the attribution')
      .requiredOption('--level <level>', 'institutional (the office speaks) or official (a named official speaks)'),
  ).action(async (...args: unknown[]) => {
    const o = optionsOf(args);
    const spec = {
      id: parseKeyId(args[0] as string, 'the signer id'),
      name: parseDisplay(stringOption(o, 'name') ?? '', '--name'),
      title: parseDisplay(stringOption(o, 'title') ?? '', '--title'),
      level: parseLevel(stringOption(o, 'level') ?? ''),
    };
    const home = await partyHomeOf(ctx, o, 'signer add');
    const r = await signerAdd(ctx, home, spec);
    await ctx.out.result([`Added signer ${r.signer} of party ${r.party}, under bundle ${r.seq}.`, humanPublished(r)].join('\n'), r);
    warnFailures(ctx, home, r);
  });
  withCommonOptions(signer.command('list').description('the signers of the current bundle, and the revoked ones')).action(async (...args: unknown[]) => {
    const o = optionsOf(args);
    const home = await partyHomeOf(ctx, o, 'signer list');
    const r = await listSigners(home);
    const lines = [
      `Party ${r.party}, bundle ${r.seq}:`,
      table(
        [{ title: 'SIGNER' }, { title: 'NAME' }, { title: 'TITLE' }, { title: 'LEVEL' }, { title: 'UNTIL' }, { title: 'HERE' }, { title: 'STATUS' }],
        r.signers.map((s) => [s.id, s.name, s.title, s.level, when(s.not_after), s.held ? 'key' : '-', s.status]),
      ),
    ];
    if (r.revoked.length > 0) {
      lines.push('', 'Revoked:', table([{ title: 'SIGNER' }, { title: 'KEY' }, { title: 'COMPROMISED SINCE' }, { title: 'REASON' }], r.revoked.map((x) => [x.id ?? '?', x.key, when(x.compromised_since), x.reason])));
    }
    await ctx.out.result(lines.join('\n'), r);
  });
  withCommonOptions(
    signer
      .command('revoke')
      .description('revoke a signer (a root operation): signatures logged from --compromised-since on are refused')
      .argument('<id>', 'the signer id')
      .option('--compromised-since <time>', 'now (default), or an ISO 8601 time such as 2025-03-01T12:00:00Z')
      .option('--reason <text>', 'why (shown to the peer with the revocation)'),
  ).action(async (...args: unknown[]) => {
    const o = optionsOf(args);
    const id = parseKeyId(args[0] as string, 'the signer id');
    const reason = stringOption(o, 'reason');
    if (reason !== undefined && (reason.length > 500 || /\p{Cc}/u.test(reason))) throw usage('--reason must be at most 500 characters, with no control characters or line breaks');
    const home = await partyHomeOf(ctx, o, 'signer revoke');
    const r = await signerRevoke(ctx, home, id, { compromisedSince: stringOption(o, 'compromisedSince'), reason });
    await ctx.out.result([`Revoked signer ${r.signer} of party ${r.party} (compromised since ${when(r.compromised_since)}), under bundle ${r.seq}.`, humanPublished(r)].join('\n'), r);
    warnFailures(ctx, home, r);
  });
}
