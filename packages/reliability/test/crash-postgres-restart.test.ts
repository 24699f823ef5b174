/**
 * The relay's PostgreSQL server crashing and restarting under load (issue 8, scenario 2: "for
 * PostgreSQL, also restart the database server itself mid-load"). A private server (never the
 * shared one on 5432, which other suites use at the same time) under a real relay process,
 * under a steady stream of submissions and reads:
 *  - `pg_ctl stop -m immediate` (a crash of the server) held down until the relay has answered:
 *    every refusal meanwhile is 503 `storage_unavailable` (never a 500, never a hang, never a
 *    crashed relay), reads served from memory (the checkpoint) keep working;
 *  - `pg_ctl restart -m immediate` and `-m fast` mid-load;
 * and each time the relay resumes by itself when the server is back, with every receipted
 * envelope held (the same bytes again are a duplicate with the original receipt), every receipt
 * included under the new head, and every checkpoint consistent with it. Skipped with one line
 * when the PostgreSQL server binaries are missing, failed under BACKCHANNEL_REQUIRE_PG=1.
 */
import { fromBase64, hashLeaf, partyCardJson, verifyInclusion, verifyReceipt, type SealedEnvelope } from '@backchannel/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post } from '../../relay/test/helpers/spawn-relay.js';
import { makeWorld, seal, signedRequest, submitBody, token, type World } from '../../relay/test/helpers/world.js';
import { CheckpointLedger, crashRelay, type CrashRelay } from '../src/crash/crash-relay.js';
import { findPostgresBin, startPrivatePostgres, type PrivatePostgres, type StopMode } from '../src/crash/private-postgres.js';

const LONG = process.env.BACKCHANNEL_LONG === '1';
const BIN = findPostgresBin();
if (BIN === undefined) {
  if (process.env.BACKCHANNEL_REQUIRE_PG === '1') throw new Error('PostgreSQL is required (BACKCHANNEL_REQUIRE_PG=1) but no server binaries (initdb, pg_ctl) are under /usr/lib/postgresql');
  console.info('postgres restart: skipped: no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql');
}
const IN_FLIGHT = 6;

interface Receipted {
  env: SealedEnvelope;
  body: Buffer;
  index: number;
  receipt: string;
}

interface Tally {
  accepted: number;
  refused: Map<string, number>;
  /** Answers that must never come: a 500, an untyped refusal, a dropped connection. */
  bad: string[];
}

type Event = { kind: 'down'; mode: StopMode } | { kind: 'restart'; mode: StopMode };

describe.skipIf(BIN === undefined)('the relay while its PostgreSQL server crashes and restarts', () => {
  let w: World;
  let serverRef: PrivatePostgres | undefined;
  let relayRef: CrashRelay | undefined;

  beforeAll(async () => {
    w = await makeWorld();
    serverRef = await startPrivatePostgres(BIN!);
    relayRef = await crashRelay('ch', serverRef.url, [w.us, w.ir].map((p) => ({ card: partyCardJson(p.keys.bundle) })));
    await relayRef.start();
  }, 120_000);

  afterAll(async () => {
    try {
      await relayRef?.stop();
    } finally {
      serverRef?.destroy();
    }
  }, 60_000);

  const rounds = LONG ? 5 : 1;
  const events: Event[] = Array.from({ length: rounds }, (): Event[] => [
    { kind: 'down', mode: 'immediate' },
    { kind: 'restart', mode: 'immediate' },
    { kind: 'restart', mode: 'fast' },
  ]).flat();

  it(`answers 503 while the server is away, loses nothing, and resumes by itself (${events.length} server stops)`, { timeout: LONG ? 900_000 : 180_000 }, async () => {
    const server = serverRef!;
    const relay = relayRef!;
    const ledger = new CheckpointLedger(relay.vkey);
    const receipted: Receipted[] = [];
    const tally: Tally = { accepted: 0, refused: new Map(), bad: [] };
    let stopped = false;
    let refusalsSeen = 0;
    let onRefusal: (() => void) | undefined;
    let onAccept: (() => void) | undefined;

    const submitter = async (): Promise<void> => {
      while (!stopped) {
        const env = await seal(w.us, w.ir);
        const body = submitBody(env, token(w.us, relay.options.origin, env));
        let res;
        try {
          res = await post(`${relay.url}/v1/submit`, body);
        } catch (e) {
          tally.bad.push(`submit: no answer (${e instanceof Error ? e.message : String(e)})`);
          continue;
        }
        if (res.status === 200) {
          const b = res.body as { index: number; receipt: string };
          const v = verifyReceipt(b.receipt, relay.vkey, { type: 'submit', digest: env.digest });
          ledger.remember(v.checkpoint);
          receipted.push({ env, body, index: b.index, receipt: b.receipt });
          tally.accepted++;
          onAccept?.();
          continue;
        }
        const code = String((res.body as { error?: { code?: unknown } }).error?.code);
        // While the server is away: 503 storage_unavailable (or `unavailable`: a write whose
        // failure the driver could not name, or a queue full of waiting submissions).
        if (res.status === 503 && (code === 'storage_unavailable' || code === 'unavailable')) {
          tally.refused.set(code, (tally.refused.get(code) ?? 0) + 1);
          refusalsSeen++;
          onRefusal?.();
        } else tally.bad.push(`submit: ${res.status} ${code}`);
      }
    };
    const reader = async (): Promise<void> => {
      while (!stopped) {
        // The head is served from memory: it answers whether or not the database does.
        const cp = await fetch(`${relay.url}/checkpoint`).catch((e: unknown) => e);
        if (!(cp instanceof Response) || cp.status !== 200) tally.bad.push(`checkpoint: ${cp instanceof Response ? cp.status : String(cp)}`);
        else ledger.record(await cp.text());
        // A desk's fetch needs the database: 200, or 503 typed while it is away.
        const f = signedRequest({ party: w.ir, path: '/v1/fetch', body: { after: 0, limit: 5 } });
        let r: Awaited<ReturnType<typeof post>> | undefined;
        try {
          r = await post(`${relay.url}/v1/fetch`, f.payload, f.headers);
        } catch (e) {
          tally.bad.push(`fetch: no answer (${String(e)})`);
        }
        if (r !== undefined && r.status !== 200 && !(r.status === 503 && String((r.body as { error?: { code?: unknown } }).error?.code) === 'storage_unavailable')) {
          tally.bad.push(`fetch: ${r.status} ${JSON.stringify(r.body)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    };
    // A relay that dies fails the test at once, with what it wrote, instead of leaving it waiting.
    const child = relay.process!.child;
    const died = new Promise<never>((_, reject) => {
      child.once('exit', (code, signal) => {
        reject(new Error(`the relay process exited (${String(code ?? signal)}): ${relay.process?.stderr() ?? ''}`));
      });
    });
    died.catch(() => undefined);
    const next = (which: 'refusal' | 'accept'): Promise<void> =>
      Promise.race([
        new Promise<void>((resolve) => {
          if (which === 'refusal') onRefusal = resolve;
          else onAccept = resolve;
        }),
        died,
      ]);

    const load = Promise.all([...Array.from({ length: IN_FLIGHT }, submitter), reader()]);
    try {
      for (const ev of events) {
        // Mid-load: some receipts first.
        const before = tally.accepted;
        while (tally.accepted < before + 20) await next('accept');
        if (ev.kind === 'down') {
          const seen = refusalsSeen;
          server.stop(ev.mode);
          // The relay refuses while the server is away (wait for a few refusals, not a time).
          while (refusalsSeen < seen + 5) await next('refusal');
          server.start();
        } else {
          server.restart(ev.mode);
        }
        // It resumes by itself.
        const after = tally.accepted;
        while (tally.accepted < after + 5) await next('accept');
        expect(relay.process?.child.exitCode).toBeNull();
      }
    } finally {
      stopped = true;
      onAccept?.();
      onRefusal?.();
      await load;
    }
    expect(tally.bad).toEqual([]);
    expect(relay.process?.child.exitCode).toBeNull();

    // Nothing receipted was lost; every checkpoint handed out is consistent with the head.
    const head = await ledger.verifyAll(relay.url);
    // After every failed commit, the relay's head in memory is exactly what the database holds.
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      const held = await client.query<{ leaves: string; size: string }>('SELECT (SELECT COUNT(*) FROM leaves) AS leaves, (SELECT MAX(size) FROM checkpoints) AS size');
      expect(held.rows[0]).toEqual({ leaves: String(head.size), size: String(head.size) });
    } finally {
      await client.end();
    }
    for (const r of receipted) {
      const again = await post(`${relay.url}/v1/submit`, r.body);
      expect(again.status).toBe(200);
      expect(again.body).toEqual({ index: r.index, receipt: r.receipt, duplicate: true });
      const v = verifyReceipt(r.receipt, relay.vkey, { type: 'submit', digest: r.env.digest });
      const p = (await (await fetch(`${relay.url}/v1/log/proof/inclusion?leaf_index=${r.index}&tree_size=${head.size}`)).json()) as { inclusion_path: string[] };
      verifyInclusion(hashLeaf(v.leaf), r.index, head.size, p.inclusion_path.map(fromBase64), head.rootHash);
    }
    const refused = [...tally.refused].map(([c, n]) => `${n} × 503 ${c}`).join(', ');
    console.info(`postgres restart: ${events.length} server stops (${events.map((e) => `${e.kind} -m ${e.mode}`).join(', ')}); ${receipted.length} receipted envelopes all held; refusals: ${refused}; ${ledger.size} checkpoints consistent; 0 untyped answers`);
  });
});
