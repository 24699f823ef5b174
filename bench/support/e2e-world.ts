/**
 * What the end-to-end parts share: relays as real processes on temporary SQLite files (one
 * optionally behind a FaultProxy), the recipient desk as a child process watching them, and
 * the sending desk (`us`) in this process. Everything is stopped at the part's cleanup.
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FaultProxy } from '../../packages/faults/src/index.js';
import { toHex } from '../../packages/core/src/index.js';
import type { RelayLimits } from '../../packages/relay/src/index.js';
import type { RelayProcessOptions } from '../../packages/relay/test/fixtures/relay-process.js';
import { Station } from '../../packages/station/src/index.js';
import { freePort, onCleanup, startChild, tempDir, waitUntil } from './procs.js';
import { inspectArgs, type Inspectable } from './profile.js';
import { worldParty, worldRelay, worldTime, type WorldRelay } from './world.js';

/** The relay as a process of its own: the relay's test fixture, which prints `{"url": …, "port": …}` once it listens. */
const RELAY_PROCESS = join(import.meta.dirname, '../../packages/relay/test/fixtures/relay-process.ts');

/** Limits raised for load: the flood gates would otherwise refuse a benchmark; housekeeping stays out of the measured seconds. */
const LOAD_LIMITS: Partial<RelayLimits> = { ipRequestsPerWindow: 1e9, stationRequestsPerWindow: 1e9, queueDepth: 65_536, housekeepingMs: 3_600_000 };

export interface BenchRelay extends WorldRelay {
  port: number;
  pid: number | undefined;
  proxy: FaultProxy | undefined;
  /** Its inspector, when profiling is on (support/profile.ts). */
  inspect: Inspectable | undefined;
  stop: () => Promise<void>;
}

export async function startRelays(ids: readonly string[], dir: string, opts: { proxied?: readonly string[] } = {}): Promise<BenchRelay[]> {
  worldTime();
  const [us, ir] = await Promise.all([worldParty('us'), worldParty('ir')]);
  return Promise.all(
    ids.map(async (id) => {
      const port = await freePort();
      const proxied = opts.proxied?.includes(id) ?? false;
      const publicPort = proxied ? await freePort() : port;
      const w = worldRelay(id, `http://127.0.0.1:${publicPort}`);
      const options: RelayProcessOptions = {
        id,
        name: `Bench relay ${id}`,
        url: w.url,
        origin: w.origin,
        logKeySeed: toHex(w.logKeySeed),
        card: w.card,
        db: `sqlite:${join(dir, `${id}.db`)}`,
        listen: { host: '127.0.0.1', port },
        logLevel: 'error',
        limits: LOAD_LIMITS,
        mandate: [{ card: us.card }, { card: ir.card }],
      };
      const inspect = await inspectArgs(`relay-${id}`);
      const child = startChild(process.execPath, [...inspect.args, '--import', 'tsx', RELAY_PROCESS], {
        env: { ...process.env, BACKCHANNEL_RELAY_OPTIONS: JSON.stringify(options) },
      });
      await waitUntil(`relay ${id} to listen`, () => {
        if (child.child.exitCode !== null) throw new Error(`relay ${id} exited: ${child.output().slice(-400)}`);
        return child.output().includes('"port"');
      }, 60_000).catch((e: unknown) => {
        throw new Error(`${e instanceof Error ? e.message : String(e)}: ${child.output().slice(-400)}`);
      });
      let proxy: FaultProxy | undefined;
      if (proxied) {
        const p = await FaultProxy.start({ target: `http://127.0.0.1:${port}`, port: publicPort });
        onCleanup(() => p.close());
        proxy = p;
      }
      return { ...w, port, pid: child.child.pid, proxy, inspect: inspect.target, stop: () => child.stop() };
    }),
  );
}

/** A counter of the relay's Prometheus metrics (GET /metrics), or undefined when it does not answer it. */
export async function relayCounter(relay: BenchRelay, name: string): Promise<number | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${relay.port}/metrics`);
    const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(await res.text());
    return m === null ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}

/** Resident memory of a process in MiB (Linux /proc), or undefined where it cannot be read. */
export function rssMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const pages = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
    return (pages * 4096) / 2 ** 20;
  } catch {
    return undefined;
  }
}

/** CPU time a process has used, user and system, all its threads, in ms (Linux /proc), or undefined where it cannot be read. */
export function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}
// USER_HZ: 100 on every Linux ABI that Node runs on.
const CLOCK_TICKS = 100;

export interface Receiver {
  /** The desk's process. */
  pid: number | undefined;
  /** Its inspector, when profiling is on (support/profile.ts). */
  inspect: Inspectable | undefined;
  /** Wall-clock receipt times of valid note copies: id → relay → ms. */
  copies: Map<string, Map<string, number>>;
  /** Resolves when a copy of `id` has arrived (from any relay, or from `count` relays). */
  waitFor: (id: string, count?: number, timeoutMs?: number) => Promise<boolean>;
  sync: () => Promise<{ seconds: number; delivered: number; fetched: number; ok: boolean }>;
  stop: () => Promise<void>;
}

export async function startReceiver(relays: readonly BenchRelay[], dir: string, watch: boolean): Promise<Receiver> {
  const us = await worldParty('us');
  const inspect = await inspectArgs('receiver');
  const child = fork(join(import.meta.dirname, 'receiver-child.ts'), [], {
    execArgv: [...inspect.args, '--import', 'tsx'],
    env: { ...process.env, BENCH_RECEIVER: JSON.stringify({ dir, relays: relays.map((r) => r.card), senderCard: us.card, watch }) },
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => { resolve(); }));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (child.connected) child.send({ type: 'stop' });
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  };
  onCleanup(stop);
  const copies = new Map<string, Map<string, number>>();
  const waiters = new Map<string, { count: number; resolve: (ok: boolean) => void }[]>();
  let ready = false;
  let synced: ((m: { seconds: number; delivered: number; fetched: number; ok: boolean } | Error) => void) | undefined;
  child.on('message', (raw: unknown) => {
    const m = raw as { type: string; id?: string; relay?: string; t?: number; message?: string; seconds?: number; delivered?: number; fetched?: number; ok?: boolean };
    if (m.type === 'ready') ready = true;
    if (m.type === 'r' && m.id !== undefined && m.relay !== undefined && m.t !== undefined) {
      let c = copies.get(m.id);
      if (c === undefined) copies.set(m.id, (c = new Map<string, number>()));
      if (!c.has(m.relay)) c.set(m.relay, m.t);
      const ws = waiters.get(m.id);
      if (ws !== undefined) {
        for (const w of ws.filter((x) => c.size >= x.count)) w.resolve(true);
        waiters.set(m.id, ws.filter((x) => c.size < x.count));
      }
    }
    if (m.type === 'synced') synced?.({ seconds: m.seconds ?? NaN, delivered: m.delivered ?? 0, fetched: m.fetched ?? 0, ok: m.ok ?? false });
    if (m.type === 'failed') synced?.(new Error(m.message));
  });
  await waitUntil('the receiving desk to connect to every relay', () => {
    if (child.exitCode !== null) throw new Error(`receiver exited: ${err}`);
    return ready;
  }, 60_000).catch((e: unknown) => {
    throw new Error(`${e instanceof Error ? e.message : String(e)} ${err}`);
  });
  return {
    pid: child.pid,
    inspect: inspect.target,
    copies,
    waitFor: (id, count = 1, timeoutMs = 30_000) => {
      if ((copies.get(id)?.size ?? 0) >= count) return Promise.resolve(true);
      return new Promise((resolve) => {
        const t = setTimeout(() => { resolve(false); }, timeoutMs);
        const list = waiters.get(id) ?? [];
        list.push({ count, resolve: (ok) => { clearTimeout(t); resolve(ok); } });
        waiters.set(id, list);
      });
    },
    sync: () =>
      new Promise((resolve, reject) => {
        synced = (m) => {
          if (m instanceof Error) reject(m);
          else resolve(m);
        };
        child.send({ type: 'sync' });
      }),
    stop,
  };
}

/** The sending desk, in this process, with every relay added and the recipient pinned. */
export async function openSender(relays: readonly BenchRelay[], dir: string, policy: Record<string, unknown> = {}): Promise<Station> {
  const [us, ir] = await Promise.all([worldParty('us'), worldParty('ir')]);
  const desk = await Station.open({ path: join(dir, 'us.db'), keys: us.keys, timers: false, policy });
  onCleanup(() => desk.close());
  for (const r of relays) await desk.addRelay(r.card);
  await desk.pinParty(ir.card);
  return desk;
}

export { tempDir };
