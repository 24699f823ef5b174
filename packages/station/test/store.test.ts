/**
 * The station store on real SQLite files: durability settings, migrations up and down, the
 * storage key, contents encrypted at rest, and the contract the station relies on.
 */
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deterministicRandomForTests, encodeContent, sha256, utf8 } from '@backchannel/core';
import { isStationError } from '../src/errors.js';
import { ackPendingQuery, migrate, openSqliteStore, outgoingQuery, type SqliteStationStore } from '../src/store/sqlite-store.js';
import type { CopyRecord, IncomingNote, NewAlert, OutgoingNote } from '../src/store/types.js';
import type { StationStore } from '../src/store/store.js';
import { makeParty, tempDir, type TestParty } from './fixtures/parties.js';

const random = deterministicRandomForTests('store');
const T = Date.UTC(2026, 0, 3);
const SECRET = 'The minister will call at noon';

function outgoing(id: string): OutgoingNote {
  const content = encodeContent({ kind: 'note', subject: 'Call', body: SECRET, category: 'political', thread: new Uint8Array(16).fill(7) });
  return {
    id,
    to: 'ir',
    precedence: 'FLASH',
    kind: 'note',
    created: T,
    deadline: T + 300_000,
    digest: sha256(utf8(id)),
    envelope: new Uint8Array(4096).fill(3),
    content,
    thread: '07'.repeat(16),
    replyTo: undefined,
    signer: 'institution',
    failover: ['om', 'qa'],
    ackedAt: undefined,
    readAt: undefined,
    closedAt: undefined,
    lateFailoverAt: undefined,
  };
}

describe('station store (SQLite)', () => {
  const tmp = tempDir();
  const path = join(tmp.dir, 'station.db');
  const key = random(32);
  let store: SqliteStationStore;
  let us: TestParty;

  beforeAll(async () => {
    us = await makeParty('us', 'United States', T, random);
    store = await openSqliteStore({ path, storageKey: key, random });
  });
  afterAll(async () => {
    await store.close();
    tmp.remove();
  });

  it('runs in WAL mode with synchronous=FULL', () => {
    const db = new BetterSqlite3(path, { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      db.close();
    }
  });

  it('keeps notes contents encrypted at rest, and opens them again', async () => {
    await store.insertOutgoing(outgoing('aa'.repeat(16)));
    const back = await store.getOutgoing('aa'.repeat(16));
    expect(new TextDecoder().decode(back?.content)).toContain(SECRET);
    await store.saveThread({ id: '07'.repeat(16), party: 'ir', subject: 'A secret subject', startedAt: T, lastAt: T });
    expect((await store.getThread('07'.repeat(16)))?.subject).toBe('A secret subject');
    const db = new BetterSqlite3(path, { readonly: true });
    try {
      const rows = db.prepare('select content from outgoing').all() as { content: Buffer }[];
      expect(rows[0]!.content.toString('latin1')).not.toContain('minister');
      const t = db.prepare('select subject from threads').all() as { subject: Buffer }[];
      expect(t[0]!.subject.toString('latin1')).not.toContain('secret');
    } finally {
      db.close();
    }
  });

  it('a value moved to another row does not open there', async () => {
    await store.insertOutgoing(outgoing('bb'.repeat(16)));
    const db = new BetterSqlite3(path);
    try {
      db.prepare("update outgoing set content = (select content from outgoing where id = ?) where id = ?").run('aa'.repeat(16), 'bb'.repeat(16));
    } finally {
      db.close();
    }
    await expect(store.getOutgoing('bb'.repeat(16))).rejects.toSatisfy((e: unknown) => isStationError(e, 'storage_key_wrong'));
  });

  it('refuses to open under another storage key', async () => {
    await expect(openSqliteStore({ path, storageKey: random(32), random })).rejects.toSatisfy((e: unknown) => isStationError(e, 'storage_key_wrong'));
  });

  it('stores parties with their bundle, and channels per note', async () => {
    await store.saveParty({ id: 'us', name: 'United States', fingerprint: us.card.fingerprint, root: us.keys.bundle.bundle.root, bundle: us.keys.bundle, self: true, pinnedAt: T, updatedAt: T });
    const p = await store.getParty('us');
    expect(p?.bundle.bundle.seq).toBe(1);
    expect(p?.self).toBe(true);
    await store.saveChannel({
      noteId: 'aa'.repeat(16),
      relay: 'ch',
      role: 'chosen',
      reason: undefined,
      startedAt: T,
      token: undefined,
      submittedAt: undefined,
      receipt: undefined,
      logIndex: undefined,
      error: { code: 'relay_unreachable', message: 'down', at: T },
      deliveredAt: undefined,
      deliveryRecord: undefined,
      deliveryReceipt: undefined,
      ackedAt: undefined,
      recipientArrivalAt: undefined,
      readAt: undefined,
    });
    const c = await store.getChannel('aa'.repeat(16), 'ch');
    expect(c?.error?.code).toBe('relay_unreachable');
    await store.saveChannel({ ...c!, error: undefined, receipt: 'r', logIndex: 4, submittedAt: T + 1 });
    expect(await store.listChannels('aa'.repeat(16))).toMatchObject([{ relay: 'ch', logIndex: 4, error: undefined }]);
  });

  it('keeps every copy of a note per relay and digest', async () => {
    const base: CopyRecord = {
      from: 'ir',
      id: 'cc'.repeat(16),
      relay: 'ch',
      digest: sha256(utf8('one')),
      receivedAt: T,
      seq: 1,
      token: utf8('token'),
      receipt: 'receipt',
      logIndex: 0,
      valid: true,
      errorCode: undefined,
      envelope: undefined,
      copyAck: undefined,
      deliveryRecord: undefined,
      deliveryReceipt: undefined,
      ackedAt: undefined,
      redeliveries: 0,
    };
    await store.saveCopy(base);
    await store.saveCopy({ ...base, relay: 'om' });
    await store.saveCopy({ ...base, relay: 'qa', digest: sha256(utf8('two')), valid: false, errorCode: 'token_invalid', envelope: utf8('altered') });
    await store.saveCopy({ ...base, redeliveries: 1 });
    const copies = await store.listCopies('ir', 'cc'.repeat(16));
    expect(copies.map((c) => [c.relay, c.valid, c.redeliveries])).toEqual([
      ['ch', true, 1],
      ['om', true, 0],
      ['qa', false, 0],
    ]);
    expect(await store.getCopy('ir', 'cc'.repeat(16), 'qa', sha256(utf8('two')))).toMatchObject({ errorCode: 'token_invalid' });
  });

  it('updates only the acknowledgement fields (or the redelivery count) of the one copy named, and says whether there was one', async () => {
    const base: CopyRecord = {
      from: 'ir', id: 'dd'.repeat(16), relay: 'ch', digest: sha256(utf8('one')), receivedAt: T, seq: 3, token: utf8('token'), receipt: 'receipt',
      logIndex: 2, valid: false, errorCode: 'signature_invalid', envelope: utf8('evidence'), copyAck: undefined, deliveryRecord: undefined,
      deliveryReceipt: undefined, ackedAt: undefined, redeliveries: 2,
    };
    await store.saveCopy(base);
    await store.saveCopy({ ...base, relay: 'om' });
    const other = sha256(utf8('two'));
    expect(await store.updateCopy('ir', base.id, 'ch', other, { copyAck: utf8('ack') })).toBe(false);
    expect(await store.updateCopy('ir', base.id, 'qa', base.digest, { copyAck: utf8('ack') })).toBe(false);
    expect(await store.updateCopy('ir', base.id, 'ch', base.digest, { copyAck: utf8('ack') })).toBe(true);
    expect(await store.updateCopy('ir', base.id, 'ch', base.digest, { deliveryRecord: utf8('record'), deliveryReceipt: 'dr', ackedAt: T + 5 })).toBe(true);
    expect(await store.getCopy('ir', base.id, 'ch', base.digest)).toEqual({ ...base, copyAck: utf8('ack'), deliveryRecord: utf8('record'), deliveryReceipt: 'dr', ackedAt: T + 5 });
    expect(await store.getCopy('ir', base.id, 'om', base.digest)).toEqual({ ...base, relay: 'om' });
    // A field named as undefined is cleared; one left out is kept.
    expect(await store.updateCopy('ir', base.id, 'ch', base.digest, { deliveryReceipt: undefined })).toBe(true);
    expect(await store.getCopy('ir', base.id, 'ch', base.digest)).toMatchObject({ copyAck: utf8('ack'), deliveryRecord: utf8('record'), deliveryReceipt: undefined, ackedAt: T + 5 });
    // A redelivery counts itself alone: the relay's answer stored meanwhile stays.
    expect(await store.updateCopy('ir', base.id, 'ch', base.digest, { redeliveries: 3 })).toBe(true);
    expect(await store.getCopy('ir', base.id, 'ch', base.digest)).toEqual({ ...base, copyAck: utf8('ack'), deliveryRecord: utf8('record'), deliveryReceipt: undefined, ackedAt: T + 5, redeliveries: 3 });
  });

  it('raises an alert once per fact, and resolves it', async () => {
    const a: NewAlert = { kind: 'drop', at: T, relay: 'ch', party: 'ir', note: { from: 'us', id: 'aa'.repeat(16) }, message: 'dropped', evidence: { receipt: 'r', nested: { list: [1, 'x'] } }, dedupeKey: 'drop/ch/aa' };
    const first = await store.raiseAlert(a);
    const again = await store.raiseAlert({ ...a, message: 'again' });
    expect(first.created).toBe(true);
    expect(again.created).toBe(false);
    expect(again.alert.id).toBe(first.alert.id);
    expect((await store.listAlerts({ open: true })).map((x) => x.evidence)).toEqual([{ receipt: 'r', nested: { list: [1, 'x'] } }]);
    await store.resolveAlert(first.alert.id, T + 5);
    expect(await store.listAlerts({ open: true })).toEqual([]);
    await expect(store.resolveAlert(999, T)).rejects.toSatisfy((e: unknown) => isStationError(e, 'not_found'));
  });

  it('holds checkpoints per relay once per size and root', async () => {
    const cp = { relay: 'ch', size: 3, rootHash: sha256(utf8('r3')), note: 'n3', seenAt: T, consistent: false };
    await store.saveCheckpoint(cp);
    await store.saveCheckpoint({ ...cp, consistent: true, note: 'other text' });
    await store.saveCheckpoint(cp);
    expect(await store.listCheckpoints('ch')).toMatchObject([{ size: 3, consistent: true, note: 'n3' }]);
    await store.saveCheckpoint({ ...cp, size: 5, rootHash: sha256(utf8('r5')), note: 'n5' });
    expect((await store.listCheckpoints('ch')).map((c) => c.size)).toEqual([3, 5]);
    expect((await store.latestCheckpoint('ch'))?.note).toBe('n5');
  });

  it('keeps cursors per relay and stream', async () => {
    await store.saveRelay({ id: 'ch', name: 'Swiss', url: 'http://127.0.0.1:1', origin: 'o/ch', fingerprint: 'f', card: { kind: 'relay', version: 1, id: 'ch', name: 'Swiss', url: 'http://127.0.0.1:1', origin: 'o/ch', vkey: 'v', fingerprint: 'f', sig: 's' }, rank: 0, addedAt: T });
    expect(await store.getCursor('ch', 'fetch')).toBe(0);
    await store.setCursor('ch', 'fetch', 17);
    await store.setCursor('ch', 'deliveries', 4);
    expect([await store.getCursor('ch', 'fetch'), await store.getCursor('ch', 'deliveries')]).toEqual([17, 4]);
  });

  it('rolls a transaction back whole', async () => {
    await expect(
      store.transaction(async (tx) => {
        await tx.setSetting('half', 'done');
        throw new Error('crash in the middle');
      }),
    ).rejects.toThrow('crash in the middle');
    expect(await store.getSetting('half')).toBeUndefined();
  });

  it('runs a transaction\'s statements inside it, and refuses its store once it has settled', async () => {
    const cp = (size: number) => ({ relay: 'tx', size, rootHash: new Uint8Array(32).fill(size), note: `note ${size}`, seenAt: T, consistent: false });
    // Written and read inside the transaction (SQLite directly), gone with its rollback.
    await expect(
      store.transaction(async (tx) => {
        await tx.saveCheckpoint(cp(1));
        expect((await tx.listCheckpoints('tx')).map((c) => c.size)).toEqual([1]);
        throw new Error('crash after the write');
      }),
    ).rejects.toThrow('crash after the write');
    expect(await store.listCheckpoints('tx')).toEqual([]);
    // A transaction's store kept past its end writes nothing, even while another transaction is open.
    let kept: StationStore | undefined;
    await store.transaction(async (tx) => {
      kept = tx;
      await tx.saveCheckpoint(cp(2));
    });
    await store.transaction(async () => {
      await expect(kept!.saveCheckpoint(cp(3))).rejects.toThrow();
    });
    expect((await store.listCheckpoints('tx')).map((c) => c.size)).toEqual([2]);
  });
});

/** The plan SQLite makes for a compiled query, one line per step. */
function planOf(path: string, q: { sql: string; parameters: readonly unknown[] }): string {
  const raw = new BetterSqlite3(path, { readonly: true });
  try {
    return (raw.prepare(`explain query plan ${q.sql}`).all(...q.parameters) as { detail: string }[]).map((p) => p.detail).join('; ');
  } finally {
    raw.close();
  }
}

describe('open work: indexes of just what is still pending', () => {
  it('lists the sent notes whose deadline is watched, through their own index', async () => {
    const tmp = tempDir();
    try {
      const path = join(tmp.dir, 's.db');
      const store = await openSqliteStore({ path, storageKey: random(32), random });
      const note = (id: string, kind: OutgoingNote['kind'], created: number, closedAt?: number): OutgoingNote => ({ ...outgoing(id), kind, created, closedAt });
      await store.insertOutgoing(note('01'.repeat(16), 'note', T + 2));
      await store.insertOutgoing(note('02'.repeat(16), 'note', T + 1, T + 5)); // acknowledged: closed
      await store.insertOutgoing(note('03'.repeat(16), 'ack', T + 1)); // not a note
      await store.insertOutgoing(note('04'.repeat(16), 'note', T + 1));
      const filter = { open: true, kinds: ['note'] } as const;
      expect((await store.listOutgoing(filter)).map((n) => n.id)).toEqual(['04'.repeat(16), '01'.repeat(16)]);
      await store.updateOutgoing('04'.repeat(16), { closedAt: T + 6 });
      expect((await store.listOutgoing(filter)).map((n) => n.id)).toEqual(['01'.repeat(16)]);
      const plan = planOf(path, outgoingQuery(store.kysely, filter).compile());
      expect(plan).toContain('USING INDEX outgoing_open');
      expect(plan).not.toMatch(/SCAN outgoing(?! USING)/);
      await store.close();
    } finally {
      tmp.remove();
    }
  });

  it('lists the notes still to acknowledge, through their own index, without our own desks\' notes', async () => {
    const tmp = tempDir();
    try {
      const path = join(tmp.dir, 's.db');
      const store = await openSqliteStore({ path, storageKey: random(32), random });
      const note = (from: string, id: string, kind: IncomingNote['kind'], receivedAt: number, ackSentAt?: number): IncomingNote => ({
        from,
        id,
        to: from === 'ir' ? 'us' : 'ir',
        precedence: 'ROUTINE',
        kind,
        created: receivedAt,
        digest: sha256(utf8(id)),
        envelope: new Uint8Array(64).fill(1),
        content: utf8(SECRET),
        attribution: { party: from, signer: 'institution', name: 'Desk', title: 'Desk', level: 'institutional', certificate: new Uint8Array(8) },
        thread: undefined,
        replyTo: undefined,
        receivedAt,
        firstRelay: 'ch',
        equivocated: false,
        readAt: undefined,
        ackSentAt,
      });
      await store.insertIncoming(note('ir', 'a1', 'note', T + 3));
      await store.insertIncoming(note('ir', 'a2', 'note', T + 1, T + 2)); // acknowledged already
      await store.insertIncoming(note('us', 'a3', 'note', T + 2)); // a colleague's, never acknowledged
      await store.insertIncoming(note('ir', 'a4', 'ack', T + 2)); // acknowledgements are not acknowledged
      await store.insertIncoming(note('ir', 'a5', 'heartbeat', T + 2));
      const pending = async (): Promise<string[]> => (await store.listAckPending(['note', 'heartbeat'], 'us')).map((n) => n.id);
      expect(await pending()).toEqual(['a5', 'a1']);
      // Only what an acknowledgement names: no content is read or opened.
      expect(await store.listAckPending(['note', 'heartbeat'], 'us')).toEqual([
        { from: 'ir', id: 'a5', digest: sha256(utf8('a5')), precedence: 'ROUTINE' },
        { from: 'ir', id: 'a1', digest: sha256(utf8('a1')), precedence: 'ROUTINE' },
      ]);
      await store.updateIncoming('ir', 'a5', { ackSentAt: T + 4 });
      // The digest alone, as a merge reads it; nothing for a note not held.
      expect(await store.getIncomingDigest('ir', 'a1')).toEqual((await store.getIncoming('ir', 'a1'))!.digest);
      expect(await store.getIncomingDigest('ir', 'zz')).toBeUndefined();
      expect(await pending()).toEqual(['a1']);
      // The query reads the partial index of unacknowledged notes, not the whole table.
      const plan = planOf(path, ackPendingQuery(store.kysely, ['note', 'heartbeat'], 'us').compile());
      expect(plan).toContain('USING INDEX incoming_ack_pending');
      expect(plan).not.toMatch(/SCAN incoming(?! USING)/);
      await store.close();
    } finally {
      tmp.remove();
    }
  });
});

describe('station store migrations', () => {
  it('go down to an empty database and up again', async () => {
    const tmp = tempDir();
    try {
      const key = random(32);
      const store = await openSqliteStore({ path: join(tmp.dir, 's.db'), storageKey: key, random });
      await migrate(store.kysely, 'empty');
      const tables = await store.kysely.introspection.getTables();
      expect(tables.map((t) => t.name)).toEqual([]);
      await migrate(store.kysely, 'latest');
      const after = (await store.kysely.introspection.getTables()).map((t) => t.name).sort();
      expect(after).toEqual(['alerts', 'channels', 'checkpoints', 'copies', 'cursors', 'incoming', 'outgoing', 'parties', 'relays', 'settings', 'threads']);
      await store.close();
    } finally {
      tmp.remove();
    }
  });
});
