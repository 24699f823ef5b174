/**
 * The push hub's frames keep each desk's sequence order when a commit's assignments, sent after
 * the batch's receipts, meet a pass over the same desk that sends first (push-hub.ts, `#flush`).
 * Driven directly, over a store whose fetch answers at once (as the in-thread SQLite store does).
 */
import { decodeCbor, type CborMap } from '@backchannel/core';
import pino from 'pino';
import type { WebSocket } from 'ws';
import { describe, expect, it } from 'vitest';
import { RelayMetrics } from '../../src/metrics.js';
import { PushHub } from '../../src/push/push-hub.js';
import type { FetchRequest, FetchResult, NewEnvelope, RelayStore } from '../../src/store/relay-store.js';

const DESK = new Uint8Array(32).fill(7);

function envelope(index: number): NewEnvelope {
  const b = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);
  return { index, from: 'us', id: b(16, index), digest: b(32, index), bytes: b(64, index), to: 'ir', prec: 0, created: 1, size: 64, token: b(16, 1), station: b(32, 1), received: 1, salt: b(32, 2), receipt: `receipt ${index}` };
}

describe('push frames', () => {
  it('keep the sequence order when a pass over the desk follows assignments not yet sent', async () => {
    const sent: number[] = [];
    const socket = {
      OPEN: 1,
      readyState: 1,
      bufferedAmount: 0,
      send: (data: Uint8Array) => {
        const f = decodeCbor(data) as CborMap;
        if (f.type === 'envelope') sent.push((f.item as CborMap).seq as number);
      },
      on: () => undefined,
      close: () => undefined,
      terminate: () => undefined,
    } as unknown as WebSocket;
    // The desk's state as the store holds it: each fetch hands what `next` holds.
    let state = { lastSeq: 0, scannedTo: -1 };
    let next: NewEnvelope[] = [];
    const store = {
      fetchForDesk: (req: FetchRequest): Promise<FetchResult> => {
        const items = next.map((envelope, i) => ({ seq: state.lastSeq + 1 + i, assigned: req.now, envelope }));
        state = { lastSeq: state.lastSeq + next.length, scannedTo: Math.max(state.scannedTo, ...next.map((e) => e.index)) };
        next = [];
        return Promise.resolve({ items, more: false, desk: state });
      },
    } as unknown as RelayStore;
    const hub = new PushHub({ store, clock: () => 1, metrics: new RelayMetrics(), logger: pino({ level: 'silent' }), bufferBytes: 1 << 20, pageBytes: 1 << 20, maxConnections: 10, pingMs: 60_000 });
    try {
      hub.add({ socket, party: 'ir', desk: DESK });
      await new Promise((res) => setImmediate(res)); // the first pass: nothing pending, caught up
      // Batch 1: planned for the desk and made in its commit (the store's state moves with it).
      const b1 = [envelope(0)];
      const [a] = hub.plan(b1, 1);
      expect(a).toMatchObject({ lastSeq: 0, scannedTo: -1, scanTo: 0 });
      state = { lastSeq: 1, scannedTo: 0 };
      hub.notify({ envelopes: b1, deliveries: [], assigned: [a!] });
      // Batch 2, in the same turn: its assignment was not made, so the hub passes over the desk,
      // and that pass's fetch answers before batch 1's frames were due to leave.
      const b2 = [envelope(1)];
      hub.plan(b2, 1);
      next = b2;
      hub.notify({ envelopes: b2, deliveries: [], assigned: [] });
      await new Promise((res) => setImmediate(res));
      await new Promise((res) => setImmediate(res));
      expect(sent).toEqual([1, 2]);
    } finally {
      hub.close();
    }
  });
});
