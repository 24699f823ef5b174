/**
 * Watching under load: envelopes pushed while the desk is busy are merged together and
 * acknowledged to the relay in one request (and one durable commit); a lone envelope is a
 * batch of one. Against a real relay on loopback; the push connection is the real one, its
 * envelope frames held back until a burst has arrived.
 */
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectHttp, type ConnectRelay } from '../src/desk.js';
import type { RelayApi } from '../src/relay-client.js';
import type { Station } from '../src/station.js';
import { connectPushWs, type ConnectPush, type WatchEvent } from '../src/watch.js';
import type { FetchItem } from '../src/relay-wire.js';
import { eventually } from './fixtures/memory-world.js';
import { tempDir } from './fixtures/parties.js';
import { openDeskPair, type DeskPair } from './fixtures/real-relays.js';

function counting(api: RelayApi, acks: number[]): RelayApi {
  return {
    id: api.id,
    submit: (e, t) => api.submit(e, t),
    postBundle: (b) => api.postBundle(b),
    getBundle: (p) => api.getBundle(p),
    fetch: (a, l) => api.fetch(a, l),
    ack: (list) => {
      acks.push(list.length);
      return api.ack(list);
    },
    deliveries: (a, l) => api.deliveries(a, l),
    checkpoint: () => api.checkpoint(),
    inclusionProof: (i, s) => api.inclusionProof(i, s),
    consistencyProof: (f, s) => api.consistencyProof(f, s),
    card: () => api.card(),
  };
}

describe('watch: a burst of pushed envelopes is acknowledged in one request', () => {
  const tmp = tempDir('bc-station-watch-batch-');
  let pair: DeskPair;
  let usDesk: Station;
  let irDesk: Station;
  const acks: number[] = [];

  beforeAll(async () => {
    const connect: ConnectRelay = (entry, d) => counting(connectHttp(entry, d), acks);
    pair = await openDeskPair(tmp.dir, { timers: false, irConnect: connect });
    ({ usDesk, irDesk } = pair);
  }, 60_000);

  afterAll(async () => {
    await pair.close();
    tmp.remove();
  });

  it('four envelopes arriving together: four received, one acknowledgement of four, each copy with its delivery record', async () => {
    const BURST = 4;
    const held: FetchItem[] = [];
    // The real push connection, its envelope frames handed on all at once when the burst is in.
    const burst: ConnectPush = (c, desk, h) =>
      connectPushWs(c, desk, {
        ...h,
        envelope: (item) => {
          held.push(item);
          if (held.length === BURST) for (const x of held.splice(0)) h.envelope(x);
        },
      });
    const events: WatchEvent[] = [];
    const watch = await irDesk.watch({ connect: burst, onEvent: (e) => events.push(e) });
    try {
      await eventually(() => events.some((e) => e.type === 'connected'));
      acks.length = 0;
      const sent = await Promise.all(
        Array.from({ length: BURST }, (_, i) => usDesk.send({ to: 'ir', precedence: 'FLASH', subject: `Burst ${i}`, body: `Note ${i}.`, via: ['ch'], failover: 'none' })),
      );
      await eventually(() => events.filter((e) => e.type === 'received' && e.entry.valid).length === BURST, 10_000);
      await eventually(() => acks.length > 0, 10_000);
      expect(acks).toEqual([BURST]);
      const recorded = (id: string): boolean => {
        const db = new BetterSqlite3(join(tmp.dir, 'ir.db'), { readonly: true });
        try {
          const row = db.prepare('select copy_ack, delivery_record from copies where id = ?').get(id) as { copy_ack: Buffer | null; delivery_record: Buffer | null } | undefined;
          return row !== undefined && row.copy_ack !== null && row.delivery_record !== null;
        } finally {
          db.close();
        }
      };
      for (const s of sent) {
        await eventually(() => recorded(s.id), 10_000);
        expect((await irDesk.show(s.id)).body).toMatch(/^Note \d\.$/);
      }
    } finally {
      await watch.close();
    }
  }, 30_000);

  it('a copy whose merge fails does not take the burst with it: the others are merged one at a time and acknowledged, and it comes again', async () => {
    const BURST = 4;
    const held: FetchItem[] = [];
    let release: (() => void) | undefined;
    const holding: ConnectPush = (c, desk, h) =>
      connectPushWs(c, desk, {
        ...h,
        envelope: (item) => {
          held.push(item);
          if (held.length === BURST) release = () => { for (const x of held.splice(0)) h.envelope(x); };
        },
      });
    const events: WatchEvent[] = [];
    const watch = await irDesk.watch({ connect: holding, onEvent: (e) => events.push(e) });
    const db = new BetterSqlite3(join(tmp.dir, 'ir.db'));
    try {
      await eventually(() => events.some((e) => e.type === 'connected'));
      acks.length = 0;
      const sent = await Promise.all(
        Array.from({ length: BURST }, (_, i) => usDesk.send({ to: 'ir', precedence: 'FLASH', subject: `Fault ${i}`, body: `Fault ${i}.`, via: ['ch'], failover: 'none' })),
      );
      await eventually(() => release !== undefined, 10_000);
      // The desk's storage refuses the third copy, as a failing disk or a bug would.
      const failing = sent[2]!.id;
      db.exec(`create trigger fail_one before insert on copies when new.id = '${failing}' begin select raise(abort, 'injected storage failure'); end`);
      release!();
      const received = (): string[] => events.flatMap((e) => (e.type === 'received' && e.entry.valid && e.entry.id !== undefined ? [e.entry.id] : []));
      await eventually(() => received().length === BURST - 1 && events.some((e) => e.type === 'error'), 10_000);
      expect(received().sort()).toEqual(sent.filter((x) => x.id !== failing).map((x) => x.id).sort());
      expect(events.find((e) => e.type === 'error')).toMatchObject({ relay: 'ch' });
      await eventually(() => acks.length > 0, 10_000);
      expect(acks).toEqual([BURST - 1]);
      expect(db.prepare('select count(*) as n from copies where id = ?').get(failing)).toEqual({ n: 0 });
      // Nothing is lost: once the storage works, the relay hands the copy out again.
      db.exec('drop trigger fail_one');
      await irDesk.sync();
      expect((await irDesk.show(failing)).body).toBe('Fault 2.');
    } finally {
      db.close();
      await watch.close();
    }
  }, 30_000);
});
