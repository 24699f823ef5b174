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
});
