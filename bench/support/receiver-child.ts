/**
 * The recipient desk (`ir`) in a process of its own, so its verification and decryption do not
 * share an event loop with the sender: a real Station watching every relay by push. Each valid
 * note copy it receives is reported to the parent over IPC with the wall-clock time of its
 * receipt (after the copy verified, opened and merged). Options as JSON in BENCH_RECEIVER.
 */
import { join } from 'node:path';
import { Station, type WatchEvent } from '../../packages/station/src/index.js';
import { wallMs } from '../lib.js';
import { worldParty } from './world.js';

interface Options {
  dir: string;
  relays: unknown[];
  senderCard: unknown;
  /** Open the push connections (the e2e parts) or not (the sync part, which syncs on request). */
  watch: boolean;
}

const o = JSON.parse(process.env.BENCH_RECEIVER ?? '{}') as Options;
const send = (m: unknown): void => {
  process.send?.(m);
};
const me = await worldParty('ir');
const desk = await Station.open({ path: join(o.dir, 'ir.db'), keys: me.keys, timers: false });
for (const card of o.relays) await desk.addRelay(card);
await desk.pinParty(o.senderCard);
let connected = 0;
const onEvent = (e: WatchEvent): void => {
  if (e.type === 'connected' && ++connected === o.relays.length) send({ type: 'ready' });
  if (e.type === 'received' && e.entry.valid && e.entry.kind === 'note' && e.entry.id !== undefined) send({ type: 'r', id: e.entry.id, relay: e.entry.relay, t: wallMs() });
};
const watch = o.watch ? await desk.watch({ onEvent }) : undefined;
if (!o.watch) send({ type: 'ready' });
process.on('message', (raw: unknown) => {
  const m = raw as { type?: string };
  if (m.type === 'sync') {
    const t0 = performance.now();
    desk.sync().then(
      (s) => {
        send({ type: 'synced', seconds: (performance.now() - t0) / 1000, delivered: s.delivered, fetched: s.relays.reduce((n, r) => n + r.fetched, 0), ok: s.relays.every((r) => r.ok) });
      },
      (e: unknown) => {
        send({ type: 'failed', message: e instanceof Error ? e.message : String(e) });
      },
    );
  }
  if (m.type === 'stop') {
    void (async () => {
      await watch?.close();
      await desk.close();
      process.exit(0);
    })();
  }
});
process.on('disconnect', () => process.exit(0));
