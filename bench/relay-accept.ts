/**
 * Relay durable accept throughput (issue 9, benchmark 1): envelopes per second accepted with
 * receipts, each receipt sent only after its group commit is durable (SQLite WAL with
 * synchronous=FULL, or a PostgreSQL commit).
 *
 * Three kinds of process, so each one's CPU is its own: this one (orchestration and checks),
 * the relay (startRelay in a forked child, real loopback HTTP), and the load generator (another
 * forked child: N keep-alive connections, one submission in flight each, like N stations
 * waiting for their receipts). Envelopes are real sealed envelopes of a real party with their
 * submission tokens, made by seal children before any clock starts and reused by every run
 * (each run starts a fresh relay on an empty database, so none is a duplicate). After the
 * clock stops, every receipt index must be new and distinct, and a sample of receipts is
 * verified against the relay's log key (tlog-proof, leaf opening, checkpoint signature).
 *
 *   npx tsx bench/relay-accept.ts [--backend=sqlite,postgres] [--concurrency=1,8,32,64] [--seconds=5] [--quick] [--envelope-signature] [--floor | --bare-floor]
 * Set BC_RELAY_CPU_PROF=<dir> to write a V8 CPU profile of the relay process, and
 * BC_ACCEPT_CACHE=<dir> to keep the sealed corpus between invocations (valid for the UTC day).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Ed25519Key, LABELS, decodeCbor, deriveVkey, parseEnvelope, verify, verifyReceipt } from '../packages/core/src/index.js';
import { benchRelay, bundleTime, readCorpus } from './relay-accept-world.js';
import { PG_ADMIN, createScratchDatabase, serverCpuBetween, serverCpuMicros, type ScratchDatabase } from './support/postgres.js';

export interface AcceptOptions {
  backend: 'sqlite' | 'postgres';
  concurrency: number;
  seconds: number;
  payloadBytes: number;
  quick?: boolean;
  /** Start the relay with verifyEnvelopeSignature: two Ed25519 checks per submission instead of one. */
  envelopeSignature?: boolean;
  /**
   * `floor`: the stack's floor (support/stack-floor.ts) instead of the relay: the same load
   * against Fastify, cborg, one verification and a group commit, nothing else. Its answers
   * carry no receipt, so only their indices are checked. `bareFloor`: the same on bare
   * node:http, without Fastify.
   */
  server?: 'relay' | 'floor' | 'bareFloor';
}

export interface AcceptResult {
  backend: string;
  concurrency: number;
  accepted: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  relayCpuPercent?: number;
  loadCpuPercent?: number;
  /** PostgreSQL's backends serving the relay, when the server runs on this machine. */
  databaseCpuPercent?: number;
  note?: string;
}

const CHILD = fileURLToPath(new URL('./relay-accept-child.ts', import.meta.url));
// Receipts checked in full: one in this many submissions (and the first).
const SAMPLE_EVERY = 97;

type Msg = { type: string } & Record<string, unknown>;

export function spawnChild(role: string, env: Record<string, string>, execArgv: string[] = []): ChildProcess {
  return fork(CHILD, [], {
    env: { ...process.env, ...env, BC_ACCEPT_ROLE: role },
    execArgv: [...process.execArgv, ...execArgv],
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
}

/** Resolves with the child's next message of `type`; rejects if it exits first. */
export function nextMessage(child: ChildProcess, type: string, stderr: () => string): Promise<Msg> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: Msg): void => {
      if (m.type !== type) return;
      cleanup();
      resolve(m);
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`the ${type} child exited (${String(code)}) before answering: ${stderr()}`));
    };
    const cleanup = (): void => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

export function collectStderr(child: ChildProcess): () => string {
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-4000);
  });
  return () => err;
}

export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => { resolve(); }));
}

// ── The corpus: sealed once per payload size and process, by two seal children in parallel ──

interface Corpus {
  path: string;
  count: number;
  digests: Uint8Array[];
}

const corpora = new Map<string, Promise<Corpus>>();
let scratch: string | undefined;

function scratchDir(): string {
  if (scratch === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'bc-accept-'));
    scratch = dir;
    process.once('exit', () => { rmSync(dir, { recursive: true, force: true }); });
  }
  return scratch;
}

async function sealCorpus(payloadBytes: number, count: number): Promise<Corpus> {
  const cache = process.env.BC_ACCEPT_CACHE;
  const path = join(cache ?? scratchDir(), `corpus-${bundleTime()}-${payloadBytes}-${count}.bin`);
  if (cache !== undefined && existsSync(path)) return corpusFrom(path);
  const dir = scratchDir();
  const parts = 2;
  const paths = Array.from({ length: parts }, (_, i) => join(dir, `seal-${payloadBytes}-${count}-${i}.bin`));
  await Promise.all(
    paths.map(async (out, i) => {
      const n = Math.ceil(count / parts) - (i === parts - 1 && count % parts !== 0 ? 1 : 0);
      const child = spawnChild('seal', { BC_ACCEPT_COUNT: String(n), BC_ACCEPT_PAYLOAD: String(payloadBytes), BC_ACCEPT_OUT: out });
      await nextMessage(child, 'sealed', collectStderr(child));
      await exited(child);
    }),
  );
  // The load child reads one file: concatenate the parts.
  const bodies = paths.flatMap((p) => readCorpus(p));
  writeFileSync(
    path,
    Buffer.concat(
      bodies.flatMap((b) => {
        const len = Buffer.alloc(4);
        len.writeUInt32BE(b.length);
        return [len, b];
      }),
    ),
  );
  for (const p of paths) rmSync(p, { force: true });
  return corpusFrom(path);
}

function corpusFrom(path: string): Corpus {
  const bodies = readCorpus(path);
  const digests = bodies.map((b) => {
    const m = decodeCbor(new Uint8Array(b.buffer, b.byteOffset, b.byteLength)) as { envelope: Uint8Array };
    return parseEnvelope(m.envelope).digest;
  });
  return { path, count: bodies.length, digests };
}

function corpusFor(payloadBytes: number, count: number): Promise<Corpus> {
  const key = `${payloadBytes}/${count}`;
  let c = corpora.get(key);
  if (c === undefined) {
    c = sealCorpus(payloadBytes, count);
    corpora.set(key, c);
  }
  return c;
}

// ── Databases ────────────────────────────────────────────────────────────────────────────

export async function freshDatabase(backend: 'sqlite' | 'postgres', run: number): Promise<ScratchDatabase> {
  if (backend === 'sqlite') {
    const dir = mkdtempSync(join(scratchDir(), `db-${run}-`));
    return {
      url: `sqlite:${join(dir, 'relay.db')}`,
      drop: () => {
        rmSync(dir, { recursive: true, force: true });
        return Promise.resolve();
      },
    };
  }
  const admin = new pg.Client({ connectionString: PG_ADMIN, connectionTimeoutMillis: 3000 });
  await admin.connect();
  return createScratchDatabase(admin, `bc_accept_${process.pid}_${run}`);
}

let runs = 0;

/**
 * What one Ed25519 verification costs on this machine right now (µs, median of 5 short rounds):
 * the yardstick for the relay's CPU per envelope, since the machine's speed varies with its load.
 */
function verifyMicros(): number {
  const key = Ed25519Key.generate();
  const msg = new Uint8Array(4096);
  const sig = key.sign(LABELS.envelope, msg);
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < 40) {
      verify(key.publicKey, LABELS.envelope, msg, sig);
      n++;
    }
    rounds.push(((performance.now() - t0) * 1000) / n);
  }
  return rounds.sort((a, b) => a - b)[2]!;
}

export async function measureAccept(o: AcceptOptions): Promise<AcceptResult> {
  // Enough envelopes for ~12k/s over the run; a run that uses them all stops early and says so.
  const count = Math.max(2000, Math.ceil(Math.min(o.seconds, o.quick === true ? 3 : 60) * 12_000));
  const warmup = Math.min(o.quick === true ? 300 : 1000, Math.floor(count / 10));
  const corpus = await corpusFor(o.payloadBytes, count + warmup);
  const db = await freshDatabase(o.backend, runs++);
  const prof = process.env.BC_RELAY_CPU_PROF;
  const floor = o.server === 'floor' || o.server === 'bareFloor';
  const relay = spawnChild(floor ? 'floor' : 'relay', { BC_FLOOR_HTTP: o.server === 'bareFloor' ? 'node' : 'fastify', BC_ACCEPT_DB: db.url, BC_ACCEPT_ENVSIG: o.envelopeSignature === true ? '1' : '0' }, prof === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${prof}`]);
  const relayErr = collectStderr(relay);
  let load: ChildProcess | undefined;
  try {
    const { port } = (await nextMessage(relay, 'listening', relayErr)) as unknown as { port: number };
    load = spawnChild('load', {
      BC_ACCEPT_PORT: String(port),
      BC_ACCEPT_CONCURRENCY: String(o.concurrency),
      BC_ACCEPT_SECONDS: String(o.seconds),
      BC_ACCEPT_WARMUP: String(warmup),
      BC_ACCEPT_SAMPLE_EVERY: String(SAMPLE_EVERY),
      BC_ACCEPT_CORPUS: corpus.path,
    });
    const loadErr = collectStderr(load);
    await nextMessage(load, 'ready', loadErr);
    const pg0 = o.backend === 'postgres' ? await serverCpuMicros(db.url) : undefined;
    const mark0 = nextMessage(relay, 'mark', relayErr);
    relay.send({ type: 'mark' });
    const r0 = (await mark0) as unknown as Mark;
    const result = nextMessage(load, 'result', loadErr);
    load.send({ type: 'go' });
    const r = (await result) as unknown as {
      accepted: number;
      ms: number;
      cpuMicros: number;
      p50Ms: number;
      p99Ms: number;
      distinct: number;
      total: number;
      exhausted: boolean;
      samples: { i: number; index: number; receipt: string }[];
    };
    const mark1 = nextMessage(relay, 'mark', relayErr);
    relay.send({ type: 'mark' });
    const r1 = (await mark1) as unknown as Mark;
    const pg1 = pg0 === undefined ? undefined : await serverCpuMicros(db.url);

    // Every receipt was for a new, distinct index; a sample verifies in full.
    if (r.distinct !== r.total) throw new Error(`receipts: ${r.distinct} distinct indices for ${r.total} submissions`);
    if (!floor) {
      const vkey = deriveVkey(benchRelay().logKey, benchRelay().origin);
      for (const s of r.samples) {
        const v = verifyReceipt(s.receipt, vkey, { type: 'submit', digest: corpus.digests[s.i]! });
        if (v.index !== s.index) throw new Error(`receipt for submission ${s.i} is for index ${v.index}, the response said ${s.index}`);
      }
      if (r.samples.length === 0) throw new Error('no receipt was sampled');
    }

    const seconds = r.ms / 1000;
    const relayCpu = r1.cpu - r0.cpu;
    const perEnvelope = relayCpu / Math.max(1, r.accepted);
    const yardstick = verifyMicros();
    const notes = [
      `${perEnvelope.toFixed(0)} µs relay CPU per envelope (${(((r1.system - r0.system) / Math.max(1, relayCpu)) * 100).toFixed(0)}% system) = ${(perEnvelope / yardstick).toFixed(1)} Ed25519 verifications at ${yardstick.toFixed(0)} µs each now`,
      `event loop busy ${(((r1.elu - r0.elu) * 1000) / Math.max(1, r.accepted)).toFixed(0)} µs per envelope`,
      ...schedNote(r0.sched, r1.sched, r.accepted),
      ...(floor ? [] : [`${r.samples.length} receipts verified`]),
    ];
    if (r.exhausted) notes.push(`stopped early: all ${corpus.count - warmup} envelopes sent`);
    return {
      backend: o.backend,
      concurrency: o.concurrency,
      accepted: r.accepted,
      seconds,
      perSecond: r.accepted / seconds,
      p50Ms: r.p50Ms,
      p99Ms: r.p99Ms,
      relayCpuPercent: (relayCpu / ((r1.t - r0.t) * 1000)) * 100,
      loadCpuPercent: (r.cpuMicros / (r.ms * 1000)) * 100,
      ...(pg0 === undefined || pg1 === undefined ? {} : { databaseCpuPercent: (serverCpuBetween(pg0, pg1) / ((r1.t - r0.t) * 1000)) * 100 }),
      note: notes.join('; '),
    };
  } finally {
    await stopRun(relay, load, db);
  }
}

interface Mark {
  cpu: number;
  system: number;
  t: number;
  elu: number;
  sched: { mainCpu: number; mainWait: number; allWait: number };
}

/**
 * The relay's main thread, from the scheduler: its time on a CPU, and its time runnable but
 * waiting for one, per envelope. The event loop's busy time counts both; only the first is
 * work. The second (and the same of every thread) is what sharing two cores costs.
 */
function schedNote(a: Mark['sched'], b: Mark['sched'], accepted: number): string[] {
  if (b.mainCpu === 0) return [];
  const per = (ns: number): string => (ns / 1000 / Math.max(1, accepted)).toFixed(0);
  return [`main thread ${per(b.mainCpu - a.mainCpu)} µs on a CPU and ${per(b.mainWait - a.mainWait)} µs waiting for one per envelope (all threads waited ${per(b.allWait - a.allWait)} µs)`];
}

/** Ends a run: the load generator killed, the relay asked to stop (so a CPU profile is written), the database dropped. */
export async function stopRun(relay: ChildProcess, load: ChildProcess | undefined, db: ScratchDatabase): Promise<void> {
  load?.kill();
  if (load !== undefined) await exited(load);
  relay.send({ type: 'stop' });
  const killer = setTimeout(() => relay.kill('SIGKILL'), 30_000);
  await exited(relay);
  clearTimeout(killer);
  await db.drop();
}

// ── Command line ─────────────────────────────────────────────────────────────────────────

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = (name: string, dflt: string): string => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
  const quick = process.argv.includes('--quick');
  const backends = arg('backend', 'sqlite,postgres').split(',') as ('sqlite' | 'postgres')[];
  const levels = arg('concurrency', '1,8,32,64').split(',').map(Number);
  const seconds = Number(arg('seconds', quick ? '2' : '5'));
  const payloadBytes = Number(arg('payload', '2048'));
  for (const backend of backends) {
    for (const concurrency of levels) {
      const r = await measureAccept({ backend, concurrency, seconds, payloadBytes, quick, envelopeSignature: process.argv.includes('--envelope-signature'), server: process.argv.includes('--bare-floor') ? 'bareFloor' : process.argv.includes('--floor') ? 'floor' : 'relay' });
      process.stdout.write(
        `${backend} c=${concurrency}: ${Math.round(r.perSecond)}/s (${r.accepted} in ${r.seconds.toFixed(2)} s) p50 ${r.p50Ms.toFixed(2)} ms p99 ${r.p99Ms.toFixed(2)} ms relay CPU ${r.relayCpuPercent?.toFixed(0)}% load CPU ${r.loadCpuPercent?.toFixed(0)}%${r.databaseCpuPercent === undefined ? '' : ` PostgreSQL CPU ${r.databaseCpuPercent.toFixed(0)}%`} — ${r.note ?? ''}\n`,
      );
    }
  }
}
