/**
 * The child processes of bench/relay-accept.ts, one role each (BC_ACCEPT_ROLE):
 *  - `relay`: a real relay (startRelay) on loopback; answers `mark` with its CPU time so the
 *    parent measures the relay process alone, and stops cleanly on `stop` (so `--cpu-prof`
 *    writes its profile).
 *  - `floor`: the stack's floor (support/stack-floor.ts) in the relay's place, with the same
 *    answers to the parent; BC_FLOOR_HTTP=node serves it on bare node:http, BC_FLOOR_COMMIT=loop
 *    commits on its event loop instead of a writer thread.
 *  - `seal`: seals real envelopes with tokens for the bench party, before any clock starts.
 *  - `load`: the load generator: N keep-alive connections over raw sockets, each with one
 *    submission in flight (a station waits for its receipt), sending the pre-made bodies.
 *  - `synth`: a paced load generator for long runs (bench/relay-memory.ts), which makes each
 *    envelope as it goes instead of reading a corpus (see runSynth).
 * Raw HTTP/1.1 on node:net keeps the generator's own cost per request small, so most of the
 * two cores are left to the relay.
 */
import { writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { LABELS, decodeCbor, encodeCbor, sha256, signSubmissionToken, type CborMap } from '../packages/core/src/index.js';
import { DEFAULT_LIMITS, startRelay } from '../packages/relay/src/index.js';
import { threadTimes } from './support/schedstat.js';
import { startStackFloor } from './support/stack-floor.js';
import { sealSubmission } from './support/submission.js';
import { ACCEPT_LIMITS, benchParties, benchRelay, noteBody, readCorpus, relayMandate } from './relay-accept-world.js';

type Msg = { type: string } & Record<string, unknown>;

function send(m: Msg): void {
  process.send?.(m);
}

/** Scheduler time of this process's threads, ns: the main thread's on a CPU and waiting for one, and all threads' waits. Zeros where it cannot be read. */
function schedNs(): { mainCpu: number; mainWait: number; allWait: number } {
  const t = threadTimes(process.pid);
  const main = t?.get(String(process.pid));
  let allWait = 0;
  for (const x of t?.values() ?? []) allWait += x.waitNs;
  return { mainCpu: main?.cpuNs ?? 0, mainWait: main?.waitNs ?? 0, allWait };
}

function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

async function runRelay(): Promise<void> {
  const db = process.env.BC_ACCEPT_DB!;
  const r = benchRelay();
  const relay = await startRelay({
    id: r.id,
    name: 'Bench relay',
    url: r.url,
    origin: r.origin,
    logKey: r.logKey,
    card: r.card,
    db,
    listen: { host: '127.0.0.1', port: 0 },
    logger: pino({ level: 'warn' }),
    limits: ACCEPT_LIMITS,
    verifyEnvelopeSignature: process.env.BC_ACCEPT_ENVSIG === '1',
    mandate: await relayMandate(),
  });
  answerParent('relay', () => relay.close());
  send({ type: 'listening', url: relay.url, port: relay.port });
}

/**
 * The parent's requests to the server under test (the relay or the stack's floor): `mark`, its
 * CPU and scheduler times now; `memory`, its heap after a full collection; `stop`, close and exit.
 */
function answerParent(name: string, close: () => Promise<void>): void {
  process.on('message', (m: Msg) => {
    if (m.type === 'mark') send({ type: 'mark', cpu: cpuMicros(), system: process.cpuUsage().system, t: performance.now(), elu: performance.eventLoopUtilization().active, sched: schedNs() });
    if (m.type === 'memory') {
      // After a full collection (the child runs with --expose-gc), so the heap figure is what is live.
      (globalThis as { gc?: () => void }).gc?.();
      const u = process.memoryUsage();
      send({ type: 'memory', t: performance.now(), rss: u.rss, heapUsed: u.heapUsed, external: u.external });
    }
    if (m.type === 'stop') {
      close().then(
        () => process.exit(0),
        (e: unknown) => {
          process.stderr.write(`${name} child: close failed: ${String(e)}\n`);
          process.exit(1);
        },
      );
    }
  });
}

/** The stack's floor (support/stack-floor.ts) in place of the relay, with the relay's marks. */
async function runFloor(): Promise<void> {
  const floor = await startStackFloor({ db: process.env.BC_ACCEPT_DB!, bodyLimit: DEFAULT_LIMITS.submitBodyBytes, commitOn: process.env.BC_FLOOR_COMMIT === 'loop' ? 'loop' : 'thread', http: process.env.BC_FLOOR_HTTP === 'node' ? 'node' : 'fastify' });
  answerParent('floor', () => floor.close());
  send({ type: 'listening', port: floor.port });
}

async function runSeal(): Promise<void> {
  const count = Number(process.env.BC_ACCEPT_COUNT);
  const payloadBytes = Number(process.env.BC_ACCEPT_PAYLOAD);
  const out = process.env.BC_ACCEPT_OUT!;
  const { us, ir } = await benchParties();
  const { origin } = benchRelay();
  const body = noteBody(payloadBytes);
  const parts: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const b = await sealSubmission(us, ir, origin, { subject: 'consular', body });
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    parts.push(len, Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  }
  writeFileSync(out, Buffer.concat(parts));
  send({ type: 'sealed', count });
}

interface Response {
  status: number;
  body: Buffer;
}

/** One keep-alive HTTP/1.1 connection with one request in flight; a minimal response parser. */
class Connection {
  readonly #socket: Socket;
  #buf: Buffer = Buffer.alloc(0);
  #waiting: ((r: Response) => void) | undefined;
  #failed: ((e: Error) => void) | undefined;

  constructor(port: number) {
    this.#socket = connect({ host: '127.0.0.1', port, noDelay: true });
    this.#socket.on('data', (d: Buffer) => {
      this.#buf = this.#buf.length === 0 ? d : Buffer.concat([this.#buf, d]);
      this.#parse();
    });
    this.#socket.on('error', (e) => this.#failed?.(e));
    this.#socket.on('close', () => this.#failed?.(new Error('the relay closed the connection')));
  }

  #parse(): void {
    const end = this.#buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.#buf.subarray(0, end).toString('latin1');
    const status = Number(head.slice(9, 12));
    const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (m === null) throw new Error(`response without content-length: ${head}`);
    const total = end + 4 + Number(m[1]);
    if (this.#buf.length < total) return;
    const body = this.#buf.subarray(end + 4, total);
    this.#buf = this.#buf.subarray(total);
    const w = this.#waiting;
    this.#waiting = undefined;
    this.#failed = undefined;
    w?.({ status, body });
  }

  request(head: Buffer, body: Buffer): Promise<Response> {
    return new Promise((resolve, reject) => {
      this.#waiting = resolve;
      this.#failed = reject;
      this.#socket.write(Buffer.concat([head, body]));
    });
  }

  close(): void {
    this.#failed = undefined;
    this.#socket.destroy();
  }
}

function requestHead(length: number): Buffer {
  return Buffer.from(`POST /v1/submit HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/cbor\r\ncontent-length: ${length}\r\n\r\n`, 'latin1');
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function runLoad(): Promise<void> {
  const port = Number(process.env.BC_ACCEPT_PORT);
  const concurrency = Number(process.env.BC_ACCEPT_CONCURRENCY);
  const seconds = Number(process.env.BC_ACCEPT_SECONDS);
  const warmup = Number(process.env.BC_ACCEPT_WARMUP);
  const sampleEvery = Number(process.env.BC_ACCEPT_SAMPLE_EVERY);
  const bodies = readCorpus(process.env.BC_ACCEPT_CORPUS!);
  const heads = new Map<number, Buffer>();
  const headFor = (n: number): Buffer => {
    let h = heads.get(n);
    if (h === undefined) heads.set(n, (h = requestHead(n)));
    return h;
  };
  const conns = Array.from({ length: concurrency }, () => new Connection(port));
  const indices = new Set<number>();
  const samples: { i: number; index: number; receipt: string }[] = [];
  let next = 0;

  const submit = async (c: Connection, i: number): Promise<void> => {
    const b = bodies[i]!;
    const r = await c.request(headFor(b.length), b);
    if (r.status !== 200) throw new Error(`submission ${i} refused: ${r.status} ${r.body.toString('utf8')}`);
    const body = decodeCbor(new Uint8Array(r.body.buffer, r.body.byteOffset, r.body.byteLength)) as CborMap;
    const index = body.index as number;
    if (body.duplicate !== false || indices.has(index)) throw new Error(`submission ${i}: receipt index ${index} is not new`);
    indices.add(index);
    if (i % sampleEvery === 0) samples.push({ i, index, receipt: body.receipt as string });
  };

  // Warm-up (not timed): the relay's JIT and the connections settle.
  const warmEnd = Math.min(warmup, bodies.length);
  await Promise.all(
    conns.map(async (c) => {
      while (next < warmEnd) await submit(c, next++);
    }),
  );
  send({ type: 'ready' });
  await new Promise<void>((resolve) => process.once('message', () => { resolve(); }));

  const cpu0 = cpuMicros();
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  const first = next;
  const latencies = new Float64Array(bodies.length);
  let n = 0;
  await Promise.all(
    conns.map(async (c) => {
      while (next < bodies.length && performance.now() < deadline) {
        const i = next++;
        const s = performance.now();
        await submit(c, i);
        latencies[n++] = performance.now() - s;
      }
    }),
  );
  const wall = performance.now() - t0;
  const cpu = cpuMicros() - cpu0;
  for (const c of conns) c.close();
  const lat = latencies.subarray(0, n).sort();
  send({
    type: 'result',
    accepted: next - first,
    ms: wall,
    cpuMicros: cpu,
    p50Ms: quantile(lat, 0.5),
    p99Ms: quantile(lat, 0.99),
    distinct: indices.size,
    total: next,
    exhausted: next >= bodies.length,
    samples,
  });
}

/**
 * Paced submissions for a long run: `rate` per second over `concurrency` connections for
 * `seconds`. A 10-minute run at 2,000/s needs 1.2 million distinct envelopes, too many to seal
 * beforehand (HPKE, ~1 ms each), so one real sealed envelope is the template and each copy gets
 * a fresh header id, a fresh station signature over it and a fresh token: every envelope is
 * new to the relay and passes every relay check exactly as a station's would. Only a recipient
 * could tell: the header is bound into the AEAD, so the ciphertext no longer opens — the relay
 * never opens it, which is the point of the design.
 */
async function runSynth(): Promise<void> {
  const port = Number(process.env.BC_ACCEPT_PORT);
  const concurrency = Number(process.env.BC_ACCEPT_CONCURRENCY);
  const seconds = Number(process.env.BC_ACCEPT_SECONDS);
  const rate = Number(process.env.BC_ACCEPT_RATE);
  const payloadBytes = Number(process.env.BC_ACCEPT_PAYLOAD);
  const { us, ir } = await benchParties();
  const { origin } = benchRelay();
  const sealed = decodeCbor(await sealSubmission(us, ir, origin, { subject: 'consular', body: noteBody(payloadBytes) })) as CborMap;
  const outer = decodeCbor(sealed.envelope as Uint8Array) as CborMap;
  const header = decodeCbor(outer.h as Uint8Array) as CborMap;
  const make = (i: number): Buffer => {
    const id = new Uint8Array(16);
    new DataView(id.buffer).setUint32(12, i);
    id.set(sha256(Uint8Array.of(i & 0xff, (i >> 8) & 0xff, (i >> 16) & 0xff, (i >> 24) & 0xff)).subarray(0, 12));
    const h = encodeCbor({ ...header, id });
    const s = us.station.key.sign(LABELS.envelope, encodeCbor({ h, k: outer.k!, c: outer.c! }));
    const envelope = encodeCbor({ c: outer.c!, h, k: outer.k!, s });
    const token = signSubmissionToken(us.station.key, { origin, party: 'us', digest: sha256(envelope), time: Date.now() });
    const body = encodeCbor({ envelope, token });
    return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  };
  const conns = Array.from({ length: concurrency }, () => new Connection(port));
  send({ type: 'ready' });
  await new Promise<void>((resolve) => process.once('message', () => { resolve(); }));
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  let next = 0;
  let accepted = 0;
  let refused = 0;
  let lastRefusal = '';
  await Promise.all(
    conns.map(async (c) => {
      for (;;) {
        const i = next++;
        const due = t0 + (i * 1000) / rate;
        // Behind schedule the backlog is dropped at the deadline, not sent late: the achieved rate says so.
        if (due >= deadline || performance.now() >= deadline) return;
        const wait = due - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        const b = make(i);
        const r = await c.request(requestHead(b.length), b);
        if (r.status === 200) accepted++;
        else {
          refused++;
          lastRefusal = `${r.status} ${r.body.toString('utf8').slice(0, 200)}`;
        }
      }
    }),
  );
  const wall = performance.now() - t0;
  for (const c of conns) c.close();
  send({ type: 'result', accepted, refused, lastRefusal, ms: wall, offered: Math.floor((seconds * rate)) });
}

const role = process.env.BC_ACCEPT_ROLE;
const roles: Record<string, () => Promise<void>> = { relay: runRelay, floor: runFloor, seal: runSeal, load: runLoad, synth: runSynth };
const main = role === undefined ? undefined : roles[role];
if (main !== undefined) {
  main().catch((e: unknown) => {
    process.stderr.write(`relay-accept ${role ?? ''} child failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}
