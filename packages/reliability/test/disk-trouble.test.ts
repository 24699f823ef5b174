/**
 * Disk trouble (issue 8, scenario 3): the relay's disk full, or turned read-only under it.
 * A real relay process keeps its SQLite database on a small real file system:
 *  - full (a tmpfs filled to the last page by another file): submissions are refused with 507
 *    `storage_full`, reads keep working, the relay's in-memory head stays exactly what the
 *    database holds, and service resumes as soon as the space returns;
 *  - read-only (an ext4 image that the kernel turns read-only, as after an I/O error):
 *    submissions are refused with 503 `storage_unavailable`, reads keep working; after the
 *    operator's repair (fsck) and a restart, the relay serves again;
 * and in both cases nothing is corrupted: the database passes SQLite's integrity check, the log
 * recomputed from its leaves gives the signed root, every earlier receipt still proves under the
 * new head, and every checkpoint handed out is consistent with it. Needs root (mount); without
 * it the suite is skipped with one line saying so.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  EMPTY_FRONTIER,
  appendLeaves,
  equalBytes,
  fromBase64,
  hashLeaf,
  partyCardJson,
  rootOf,
  verifyInclusion,
  verifyReceipt,
  type Checkpoint,
  type SealedEnvelope,
} from '@backchannel/core';
import { initRelayDatabase } from '@backchannel/relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post } from '../../relay/test/helpers/spawn-relay.js';
import { makeWorld, seal, signedRequest, submitBody, token, type World } from '../../relay/test/helpers/world.js';
import { CheckpointLedger, crashRelay, type CrashRelay } from '../src/crash/crash-relay.js';
import { loopExt4Available, mountLoopExt4, mountTmpfs, mountingAvailable } from '../src/disk/small-disks.js';

const MOUNT = mountingAvailable();
const LOOP = MOUNT.ok ? loopExt4Available() : MOUNT;
if (!MOUNT.ok) console.info(`disk trouble: skipped (${MOUNT.why}): the full and read-only disks are real mounted file systems`);
else if (!LOOP.ok) console.info(`disk trouble: the read-only case is skipped (${LOOP.why})`);

interface Receipted {
  env: SealedEnvelope;
  index: number;
  receipt: string;
}

async function submit(w: World, relay: CrashRelay, env?: SealedEnvelope): Promise<{ env: SealedEnvelope; status: number; body: Record<string, unknown> }> {
  const e = env ?? (await seal(w.us, w.ir, { body: 'A note to fill a disk. '.repeat(40) }));
  const res = await post(`${relay.url}/v1/submit`, submitBody(e, token(w.us, relay.options.origin, e)));
  return { env: e, status: res.status, body: res.body };
}

function errorCode(body: Record<string, unknown>): unknown {
  return (body.error as { code?: unknown } | undefined)?.code;
}

/** A desk's signed fetch: `status` expected, and with it the typed code of a refusal. */
async function checkFetch(w: World, relay: CrashRelay, status: number, code?: string): Promise<void> {
  const f = signedRequest({ party: w.ir, path: '/v1/fetch', body: { after: 0, limit: 5 } });
  const fetched = await post(`${relay.url}/v1/fetch`, f.payload, f.headers);
  expect(fetched.status, JSON.stringify(fetched.body)).toBe(status);
  if (code !== undefined) expect(errorCode(fetched.body as Record<string, unknown>)).toBe(code);
}

/**
 * Reads that must keep working while writes cannot: the head, leaves, proofs, health, the card.
 * A desk's fetch is not among them: it writes its request's nonce (replay protection) and its
 * cursor, so it is refused with the same typed code as a submission, and resumes with it.
 */
async function checkReads(relay: CrashRelay, receipted: readonly Receipted[], head: Checkpoint): Promise<void> {
  for (const path of ['/healthz', '/card', '/checkpoint', `/v1/log/entries?start=0&end=${Math.min(head.size, 10)}`]) {
    expect((await fetch(`${relay.url}${path}`)).status, path).toBe(200);
  }
  for (const r of receipted.slice(-5)) {
    const res = await fetch(`${relay.url}/v1/log/proof/inclusion?leaf_index=${r.index}&tree_size=${head.size}`);
    expect(res.status).toBe(200);
  }
}

/** Nothing corrupted: every receipt proves under the head, the head extends every earlier checkpoint, and the leaves give the signed root. */
async function checkLog(relay: CrashRelay, ledger: CheckpointLedger, receipted: readonly Receipted[]): Promise<Checkpoint> {
  const head = await ledger.verifyAll(relay.url);
  for (const r of receipted) {
    const v = verifyReceipt(r.receipt, relay.vkey, { type: 'submit', digest: r.env.digest });
    const res = await fetch(`${relay.url}/v1/log/proof/inclusion?leaf_index=${r.index}&tree_size=${head.size}`);
    const p = (await res.json()) as { inclusion_path: string[] };
    verifyInclusion(hashLeaf(v.leaf), r.index, head.size, p.inclusion_path.map(fromBase64), head.rootHash);
  }
  const leaves: Uint8Array[] = [];
  while (leaves.length < head.size) {
    // `entries` may return fewer than asked: continue from what came.
    const res = await fetch(`${relay.url}/v1/log/entries?start=${leaves.length}&end=${head.size}`);
    const got = ((await res.json()) as { entries: string[] }).entries.map(fromBase64);
    expect(got.length).toBeGreaterThan(0);
    leaves.push(...got);
  }
  expect(equalBytes(rootOf(appendLeaves(EMPTY_FRONTIER, leaves.map(hashLeaf)).frontier), head.rootHash)).toBe(true);
  return head;
}

/** What the database holds, read by a second (read-only) connection: leaves, the last checkpoint, integrity. */
function databaseState(path: string): { leaves: number; checkpoint: number; integrity: string } {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const leaves = (db.prepare('SELECT COUNT(*) AS n FROM leaves').get() as { n: number }).n;
    const checkpoint = (db.prepare('SELECT MAX(size) AS s FROM checkpoints').get() as { s: number }).s;
    const integrity = (db.pragma('integrity_check', { simple: true }) as string);
    return { leaves, checkpoint, integrity };
  } finally {
    db.close();
  }
}

/** Checks a 200's receipt and keeps it, with the checkpoint it carries. */
function keep(relay: CrashRelay, ledger: CheckpointLedger, into: Receipted[], a: { env: SealedEnvelope; body: Record<string, unknown> }): void {
  const v = verifyReceipt(a.body.receipt as string, relay.vkey, { type: 'submit', digest: a.env.digest });
  ledger.remember(v.checkpoint);
  into.push({ env: a.env, index: a.body.index as number, receipt: a.body.receipt as string });
}

async function submitMany(w: World, relay: CrashRelay, ledger: CheckpointLedger, n: number, into: Receipted[]): Promise<void> {
  const answers = await Promise.all(Array.from({ length: n }, () => submit(w, relay)));
  for (const a of answers) {
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    keep(relay, ledger, into, a);
  }
}

interface RelayOnDisk<D> {
  w: World;
  disk: D;
  relay: CrashRelay;
  dbPath: string;
}

/**
 * The suite's setup: before all, a world, the disk `mount` makes, and relay `ch` as a process
 * on a database in it with both parties in its mandate; after all, the relay stopped and the
 * disk released. The returned object is filled in by the beforeAll hook.
 */
function relayOnDisk<D extends { dir: string; release(): void }>(mount: () => D): RelayOnDisk<D> {
  const s = {} as RelayOnDisk<D>;
  beforeAll(async () => {
    s.w = await makeWorld();
    s.disk = mount();
    s.dbPath = join(s.disk.dir, 'relay.db');
    s.relay = await crashRelay('ch', `sqlite:${s.dbPath}`, [s.w.us, s.w.ir].map((p) => ({ card: partyCardJson(p.keys.bundle) })));
    await s.relay.start();
  }, 60_000);
  afterAll(async () => {
    await s.relay.stop();
    s.disk.release();
  }, 30_000);
  return s;
}

describe.skipIf(!MOUNT.ok)('the relay on a full disk (a tmpfs filled by another file)', () => {
  const setup = relayOnDisk(() => mountTmpfs(24 * 1024 * 1024));

  it('refuses submissions with 507 storage_full, keeps reading, corrupts nothing, and resumes when space returns', { timeout: 240_000 }, async () => {
    const { w, disk, relay, dbPath } = setup;
    const ledger = new CheckpointLedger(relay.vkey);
    const receipted: Receipted[] = [];
    await submitMany(w, relay, ledger, 40, receipted);
    await ledger.poll(relay.url);

    const filled = disk.fill();
    expect(filled).toBeGreaterThan(0);
    // The database may still have room of its own (free pages, a WAL file to reuse): keep
    // submitting until the disk refuses. Every answer is a verified receipt or a 507.
    let refused: { status: number; body: Record<string, unknown> } | undefined;
    let acceptedWhileFilling = 0;
    for (let i = 0; i < 5000 && refused === undefined; i++) {
      const a = await submit(w, relay);
      if (a.status === 200) {
        keep(relay, ledger, receipted, a);
        acceptedWhileFilling++;
      } else refused = a;
    }
    expect(refused?.status, JSON.stringify(refused?.body)).toBe(507);
    expect(errorCode(refused!.body)).toBe('storage_full');
    // Refused again, under concurrency too, and a duplicate of a receipted envelope still gets its receipt.
    const again = await Promise.all(Array.from({ length: 8 }, () => submit(w, relay)));
    for (const a of again) {
      expect(a.status, JSON.stringify(a.body)).toBe(507);
      expect(errorCode(a.body)).toBe('storage_full');
    }
    const dup = await submit(w, relay, receipted[0]!.env);
    expect(dup.status).toBe(200);
    expect(dup.body).toMatchObject({ index: receipted[0]!.index, receipt: receipted[0]!.receipt, duplicate: true });

    // Reads keep working, and the relay's head is exactly what the database holds.
    const head = await ledger.poll(relay.url);
    await checkReads(relay, receipted, head);
    await checkFetch(w, relay, 507, 'storage_full');
    const held = databaseState(dbPath);
    expect(held).toEqual({ leaves: head.size, checkpoint: head.size, integrity: 'ok' });
    expect(head.size).toBe(receipted.length);

    // The space returns: service resumes by itself, on a log that extends every checkpoint seen.
    disk.unfill();
    await submitMany(w, relay, ledger, 20, receipted);
    await checkFetch(w, relay, 200);
    await checkLog(relay, ledger, receipted);
    expect(databaseState(dbPath).integrity).toBe('ok');

    // A restart on the same database passes the relay's own start checks (stored tree = last checkpoint signed).
    await relay.kill9();
    await relay.start();
    const after = await checkLog(relay, ledger, receipted);
    expect(after.size).toBe(receipted.length);
    console.info(`disk full: ${filled} filler bytes; ${acceptedWhileFilling} accepted while the disk filled, then 507 storage_full; ${receipted.length} receipted envelopes all prove; ${ledger.size} checkpoints consistent`);
  });
});

describe.skipIf(!LOOP.ok)('the relay on a disk turned read-only (ext4, errors=remount-ro)', () => {
  const setup = relayOnDisk(() => mountLoopExt4(64 * 1024 * 1024));

  it('refuses submissions with 503 storage_unavailable, keeps reading, and serves again after the repair', { timeout: 240_000 }, async () => {
    const { w, disk, relay, dbPath } = setup;
    const ledger = new CheckpointLedger(relay.vkey);
    const receipted: Receipted[] = [];
    await submitMany(w, relay, ledger, 40, receipted);
    const before = await ledger.poll(relay.url);

    disk.breakToReadOnly();
    const refused = await Promise.all(Array.from({ length: 8 }, () => submit(w, relay)));
    for (const a of refused) {
      expect(a.status, JSON.stringify(a.body)).toBe(503);
      expect(errorCode(a.body)).toBe('storage_unavailable');
    }
    // The head did not move, and reads keep working.
    const head = await ledger.poll(relay.url);
    expect(head.size).toBe(before.size);
    await checkReads(relay, receipted, head);
    await checkFetch(w, relay, 503, 'storage_unavailable');
    // Still refusing, not crashed, after more attempts.
    const later = await submit(w, relay);
    expect(later.status).toBe(503);
    expect(relay.process?.child.exitCode).toBeNull();

    // The operator stops the relay, repairs the file system, and starts it again.
    await relay.stop();
    disk.repair();
    expect(databaseState(dbPath).integrity).toBe('ok');
    await relay.start();
    await submitMany(w, relay, ledger, 20, receipted);
    await checkFetch(w, relay, 200);
    const after = await checkLog(relay, ledger, receipted);
    expect(after.size).toBe(receipted.length);
    console.info(`disk read-only: 503 storage_unavailable while read-only; ${receipted.length} receipted envelopes all prove after the repair; ${ledger.size} checkpoints consistent`);
  });

  it('refuses to start on a read-only database with a typed error, not a crash', { timeout: 60_000 }, async () => {
    const { disk, relay } = setup;
    await relay.stop();
    disk.breakToReadOnly();
    await expect(initRelayDatabase(`sqlite:${join(disk.dir, 'other.db')}`)).rejects.toMatchObject({ code: 'storage_unavailable' });
    disk.repair();
  });
});
