/**
 * The relay's hot path: the submission checks (parse, station signature, token), and whole
 * submissions per second through the app — in process (inject, no socket) and over loopback
 * HTTP — on SQLite and on PostgreSQL (when reachable at BACKCHANNEL_TEST_PG, default
 * postgres://postgres@127.0.0.1:5432/test; a database is created and dropped for the run).
 * Every submission is a real sealed envelope with its own token; each one is fsync'd in a
 * group commit before its receipt is sent.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { measure, type BenchOptions, type BenchRow } from './lib.js';
import {
  Ed25519Key,
  checkSubmissionToken,
  createParty,
  deriveOrigin,
  findStation,
  makeRelayCard,
  openSubmissionToken,
  parseEnvelope,
  verifyEnvelopeStation,
  type NewParty,
} from '../packages/core/src/index.js';
import { addParty } from '../packages/relay/src/mandate/mandate.js';
import { DEFAULT_LIMITS } from '../packages/relay/src/options.js';
import { createRelay } from '../packages/relay/src/relay.js';
import { openStore } from '../packages/relay/src/store/open-store.js';
import { Ed25519Pool, type VerifyJob } from '../packages/relay/src/verify/ed25519-pool.js';
import { stationSignatureJob, tokenSignatureJob } from '../packages/relay/src/verify/submission-checks.js';
import { parsePartyCard, partyCardJson, readSubmissionTokenWrapper } from '../packages/core/src/index.js';
import { PG_ADMIN, createScratchDatabase, type ScratchDatabase } from './support/postgres.js';
import { sealSubmission } from './support/submission.js';

async function bodies(us: NewParty, ir: NewParty, origin: string, n: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) out.push(Buffer.from(await sealSubmission(us, ir, origin, { subject: 's', body: 'A routine consular matter.' })));
  return out;
}

async function throughput(
  db: string,
  us: NewParty,
  ir: NewParty,
  n: number,
  concurrency: number,
  viaSocket: boolean,
): Promise<{ perSec: number; batches: number }> {
  const logKey = Ed25519Key.generate();
  const url = 'http://127.0.0.1:7001';
  const origin = deriveOrigin(url, 'ch');
  const card = makeRelayCard({ id: 'ch', name: 'Bench relay', url, origin, logKey });
  const store = await openStore(db);
  for (const p of [us, ir]) await addParty(store, parsePartyCard(partyCardJson(p.bundle)), {}, Date.now());
  const relay = await createRelay({
    id: 'ch',
    origin,
    logKey,
    card,
    store,
    clock: Date.now,
    logger: pino({ level: 'silent' }),
    limits: { ...DEFAULT_LIMITS, ipRequestsPerWindow: 1e9, stationRequestsPerWindow: 1e9, housekeepingMs: 3_600_000 },
  });
  let base = '';
  if (viaSocket) {
    await relay.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(relay.app.server.address() as { port: number }).port}`;
  }
  const payloads = await bodies(us, ir, origin, n);
  let next = 0;
  const send = async (p: Buffer): Promise<number> => {
    if (!viaSocket) return (await relay.app.inject({ method: 'POST', url: '/v1/submit', headers: { 'content-type': 'application/cbor' }, payload: p })).statusCode;
    const res = await fetch(`${base}/v1/submit`, { method: 'POST', headers: { 'content-type': 'application/cbor' }, body: new Uint8Array(p) });
    await res.arrayBuffer();
    return res.status;
  };
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < payloads.length) {
        const status = await send(payloads[next++]!);
        if (status !== 200) throw new Error(`submission failed: ${status}`);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  const metrics = await relay.ctx.metrics.registry.getSingleMetricAsString('backchannel_relay_batch_records');
  const batches = Number(/backchannel_relay_batch_records_count (\d+)/.exec(metrics)?.[1] ?? 0);
  await relay.close();
  await store.close();
  return { perSec: n / secs, batches };
}

async function pgDatabase(): Promise<ScratchDatabase | undefined> {
  const admin = new pg.Client({ connectionString: PG_ADMIN, connectionTimeoutMillis: 2000 });
  try {
    await admin.connect();
  } catch {
    return undefined;
  }
  return createScratchDatabase(admin, `bc_bench_${process.pid}`);
}

export async function run(opts: BenchOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const now = Date.now() - 1000;
  const us = await createParty({ id: 'us', name: 'United States', now });
  const ir = await createParty({ id: 'ir', name: 'Iran', now });
  const origin = 'relay.example/ch/00000000';

  // The checks a relay makes per submission (two Ed25519 verifications, no decryption).
  const [one] = await bodies(us, ir, origin, 1);
  const { decodeCbor } = await import('../packages/core/src/index.js');
  const m = decodeCbor(new Uint8Array(one!)) as { envelope: Uint8Array; token: Uint8Array };
  rows.push(
    await measure('relay', 'submission checks (parse, station sig, token sig)', () => {
      const env = parseEnvelope(m.envelope);
      findStation(us.bundle.bundle, env.header.station, Date.now());
      verifyEnvelopeStation(env, us.bundle.bundle, Date.now());
      const t = openSubmissionToken(m.token);
      checkSubmissionToken(t, { origin, digest: env.digest, party: 'us', station: env.header.station, now: Date.now() });
    }, { ms: opts.quick ? 150 : 400 }),
  );

  // The same two checks as the relay makes them now: parsed on the event loop, verified in the
  // worker pool (one thread per core), 64 envelopes per call as under 64 concurrent stations.
  const pool = new Ed25519Pool();
  const jobs: VerifyJob[] = [];
  for (let i = 0; i < 64; i++) {
    const env = parseEnvelope(m.envelope);
    jobs.push(stationSignatureJob(env), tokenSignatureJob(readSubmissionTokenWrapper(m.token)));
  }
  rows.push(
    await measure('relay', `submission signature checks in the verification pool (${pool.threads} threads), per envelope`, () => pool.verify(jobs), {
      ms: opts.quick ? 150 : 400,
      opsPerCall: 64,
      note: 'two Ed25519 verifications per envelope, 64 envelopes per batch; wall clock, all cores',
    }),
  );
  await pool.close();

  const n = opts.quick ? 1500 : 5000;
  const dir = mkdtempSync(join(tmpdir(), 'bc-bench-'));
  const backends: { name: string; url: string; drop: () => Promise<void> }[] = [
    { name: 'SQLite', url: `sqlite:${join(dir, 'relay.db')}`, drop: () => {
        rmSync(dir, { recursive: true, force: true });
        return Promise.resolve();
      },
    },
  ];
  const pgDb = await pgDatabase();
  if (pgDb !== undefined) backends.push({ name: 'PostgreSQL', ...pgDb });
  for (const b of backends) {
    for (const viaSocket of [false, true]) {
      const r = await throughput(b.url.startsWith('sqlite:') ? `sqlite:${join(dir, `relay-${String(viaSocket)}.db`)}` : b.url, us, ir, n, 64, viaSocket);
      if (!b.url.startsWith('sqlite:') && !viaSocket) {
        // The same database for the socket run: start from an empty schema.
        const { migrateStoreDown } = await import('../packages/relay/src/store/open-store.js');
        await migrateStoreDown(b.url);
      }
      rows.push({
        group: 'relay',
        name: `submissions end to end, ${b.name}, ${viaSocket ? 'HTTP loopback' : 'in process (inject)'}`,
        opsPerSec: r.perSec,
        usPerOp: 1e6 / r.perSec,
        note: `${n} real envelopes, 64 in flight, ${r.batches} group commits (fsync'd), one process`,
      });
    }
    await b.drop();
  }
  return rows;
}
