/**
 * The copy checks of a sync page on worker threads (copy-check-pool.ts): the workers' answers
 * are the ones the desk would have reached in line, a copy that fails its checks is judged in
 * line as before (with its alert and evidence), and a pool that is gone leaves everything to
 * the desk's own thread. Real worker threads, real SQLite, relays in process.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseEnvelope, sha256, toHex, type SuiteName } from '@backchannel/core';
import { checkCopy } from '../src/copy-check.js';
import { CopyCheckPool, POOL_MIN_COPIES, type CheckRequest, type PreChecked } from '../src/copy-check-pool.js';
import { memoryWorld, type MemoryWorld } from './fixtures/memory-world.js';

let w: MemoryWorld | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await w?.close();
  w = undefined;
});

interface Seen {
  ctx: Omit<CheckRequest, 'id' | 'items'>;
  items: CheckRequest['items'];
  answers: Promise<(PreChecked | undefined)[]>;
}

/** Records what every pool is asked and answers, passing the calls through. */
function watchPools(): Seen[] {
  const seen: Seen[] = [];
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with each pool as `this`
  const real = CopyCheckPool.prototype.check;
  vi.spyOn(CopyCheckPool.prototype, 'check').mockImplementation(function (this: CopyCheckPool, ctx, items) {
    const out = real.call(this, ctx, items);
    seen.push({ ctx, items: [...items], answers: Promise.all(out) });
    return out;
  });
  return seen;
}

/** The same check in line, from the same inputs the worker had. */
async function inline(ctx: Seen['ctx'], item: Seen['items'][number]): ReturnType<typeof checkCopy> {
  const env = parseEnvelope(item.envelope);
  const sender = new Map(ctx.parties).get(env.header.from)!;
  const keys = new Map(ctx.keys.map((k) => [k.kid, k]));
  const privateKeyFor = (kid: Uint8Array, suite: SuiteName): Uint8Array | undefined => {
    const k = keys.get(toHex(kid));
    return k?.suite === suite ? k.raw : undefined;
  };
  return checkCopy(item, env, sha256(item.envelope), { self: ctx.self, origin: ctx.origin, logKey: ctx.logKey, sender, privateKeyFor });
}

/** FLASH: every note goes by all three relays. */
async function sendMany(world: MemoryWorld, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await world.usDesk.send({ to: 'ir', precedence: 'FLASH', subject: `Queued ${i}`, body: `Note number ${i}.` })).id);
  return ids;
}

describe('copy checks on worker threads', () => {
  it('a page long enough goes to the workers, whose answers are the in-line ones; every note arrives', async () => {
    w = await memoryWorld('pool-page');
    const seen = watchPools();
    const ids = await sendMany(w, POOL_MIN_COPIES + 2);
    const s = await w.irDesk.sync();
    expect(s.delivered).toBe(ids.length);
    expect(s.received.every((e) => e.valid)).toBe(true);
    // One page from each of the three relays, each checked on the workers.
    expect(seen.map((x) => x.items.length)).toEqual([ids.length, ids.length, ids.length]);
    for (const x of seen) {
      const answers = await x.answers;
      expect(answers.every((a) => a?.check.ok === true)).toBe(true);
      for (const [i, a] of answers.entries()) {
        expect(a!.senderHash).toEqual(w.us.keys.bundle.hash);
        // Structured clone keeps values, not classes: compare as plain data.
        expect(JSON.parse(JSON.stringify(a!.check))).toEqual(JSON.parse(JSON.stringify(await inline(x.ctx, x.items[i]!))));
      }
    }
    for (const id of ids) expect((await w.irDesk.show(id)).body).toMatch(/^Note number \d+\.$/);
  });

  it('a copy that fails on the worker is judged in line: the altered copies are flagged with evidence as before', async () => {
    w = await memoryWorld('pool-alter');
    w.relays.qa.faults.alter = true;
    const seen = watchPools();
    const ids = await sendMany(w, POOL_MIN_COPIES);
    const s = await w.irDesk.sync();
    expect(s.delivered).toBe(ids.length);
    const bad = s.received.filter((e) => !e.valid);
    expect(bad.map((e) => [e.relay, e.code])).toEqual(ids.map(() => ['qa', 'token_invalid']));
    const alerts = await w.irDesk.alerts({ kind: 'invalid_copy' });
    expect(alerts.map((a) => a.relay).sort()).toEqual(ids.map(() => 'qa'));
    // The workers saw the altered page and answered with the failure, which was not taken.
    const qa = seen.find((x) => x.ctx.origin === w!.relays.qa.card.origin)!;
    const answers = await qa.answers;
    expect(answers.map((a) => (a?.check.ok === false ? a.check.error.code : 'ok'))).toEqual(ids.map(() => 'token_invalid'));
  });

  it('a worker that dies leaves its copies and every later page to the desk: the sync still delivers everything', async () => {
    w = await memoryWorld('pool-crash');
    const seen: Promise<(PreChecked | undefined)[]>[] = [];
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with each pool as `this`
    const real = CopyCheckPool.prototype.check;
    vi.spyOn(CopyCheckPool.prototype, 'check').mockImplementation(function (this: CopyCheckPool, ctx, items) {
      // The crash reaches the worker before the page does.
      this.crashForTests();
      const out = real.call(this, ctx, items);
      seen.push(Promise.all(out));
      return out;
    });
    const ids = await sendMany(w, POOL_MIN_COPIES + 1);
    const s = await w.irDesk.sync();
    expect(s.delivered).toBe(ids.length);
    expect(s.received.every((e) => e.valid)).toBe(true);
    expect(seen.length).toBe(3);
    for (const answers of await Promise.all(seen)) expect(answers).toEqual(ids.map(() => undefined));
  });

  it('a closed pool answers nothing, and the copies are checked in line', async () => {
    const pool = new CopyCheckPool({ threads: 1 });
    await pool.close();
    const answers = await Promise.all(
      pool.check({ self: 'ir', origin: 'https://relay.test', logKey: { name: 'x', keyId: 0, type: 1, publicKey: new Uint8Array(32) }, parties: [], keys: [] }, [
        { envelope: new Uint8Array(8), token: new Uint8Array(8), receipt: '' },
      ]),
    );
    expect(answers).toEqual([undefined]);
  });

  it('bytes that are no envelope, or a sender not given, come back unanswered from a live worker', async () => {
    const pool = new CopyCheckPool({ threads: 1 });
    try {
      const answers = await Promise.all(
        pool.check({ self: 'ir', origin: 'https://relay.test', logKey: { name: 'x', keyId: 0, type: 1, publicKey: new Uint8Array(32) }, parties: [], keys: [] }, [
          { envelope: new Uint8Array(8), token: new Uint8Array(8), receipt: '' },
          { envelope: new Uint8Array([0xa0]), token: new Uint8Array(0), receipt: 'x' },
        ]),
      );
      expect(answers).toEqual([undefined, undefined]);
    } finally {
      await pool.close();
    }
  });
});
