/**
 * CPU profiles of one phase of a benchmark, in every process that takes part: this process
 * through node:inspector, child processes through the inspector each was started with
 * (`inspectArgs`, which opens it on a loopback port of its own). A profile of a whole run
 * (`--cpu-prof`) is mostly warm-up, code still in V8's baseline tier; this one covers the load
 * alone. Off unless BC_CPU_PROF names a directory; the profiles are written there as
 * `<phase>-<process>.cpuprofile`, for Chrome DevTools or any reader of the format.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import WebSocket from 'ws';
import { freePort } from './procs.js';

/** Where profiles go, or undefined when profiling is off. */
export const PROFILE_DIR = process.env.BC_CPU_PROF;

/** The sampling interval, µs: finer than --cpu-prof's 1 ms, for phases of a few seconds. */
const INTERVAL_US = 250;

export interface Inspectable {
  name: string;
  port: number;
}

/** Node flags for a child to be profiled (an inspector on a free loopback port), or none when profiling is off. */
export async function inspectArgs(name: string): Promise<{ args: string[]; target: Inspectable | undefined }> {
  if (PROFILE_DIR === undefined) return { args: [], target: undefined };
  const port = await freePort();
  return { args: [`--inspect=127.0.0.1:${port}`], target: { name, port } };
}

interface Recorder {
  stop: () => Promise<unknown>;
}

async function recordSelf(): Promise<Recorder> {
  const s = new Session();
  s.connect();
  await s.post('Profiler.enable');
  await s.post('Profiler.setSamplingInterval', { interval: INTERVAL_US });
  await s.post('Profiler.start');
  return {
    stop: async () => {
      const { profile } = await s.post('Profiler.stop');
      s.disconnect();
      return profile;
    },
  };
}

async function recordChild(t: Inspectable): Promise<Recorder> {
  const list = (await (await fetch(`http://127.0.0.1:${t.port}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
  const ws = new WebSocket(list[0]!.webSocketDebuggerUrl);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => { resolve(); });
    ws.once('error', reject);
  });
  let next = 1;
  const waiting = new Map<number, (result: unknown) => void>();
  ws.on('message', (data: Buffer) => {
    const m = JSON.parse(data.toString()) as { id?: number; result?: unknown };
    if (m.id !== undefined) waiting.get(m.id)?.(m.result);
  });
  const post = (method: string, params: object = {}): Promise<unknown> =>
    new Promise((resolve) => {
      const id = next++;
      waiting.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: INTERVAL_US });
  await post('Profiler.start');
  return {
    stop: async () => {
      const { profile } = (await post('Profiler.stop')) as { profile: unknown };
      ws.close();
      return profile;
    },
  };
}

/**
 * Runs `fn` with every process profiled when profiling is on (this one as `self`), and writes
 * the profiles; otherwise runs `fn` alone.
 */
export async function profiled<T>(phase: string, self: string, children: readonly (Inspectable | undefined)[], fn: () => Promise<T>): Promise<T> {
  if (PROFILE_DIR === undefined) return fn();
  const targets = children.filter((c): c is Inspectable => c !== undefined);
  const recorders = await Promise.all([recordSelf(), ...targets.map(recordChild)]);
  try {
    return await fn();
  } finally {
    // Also when the phase failed: its profile is then the one worth reading.
    const names = [self, ...targets.map((t) => t.name)];
    const profiles = await Promise.all(recorders.map((r) => r.stop()));
    profiles.forEach((p, i) => { writeFileSync(join(PROFILE_DIR, `${phase}-${names[i]}.cpuprofile`), JSON.stringify(p)); });
    process.stderr.write(`  CPU profiles of ${phase} written to ${PROFILE_DIR}\n`);
  }
}
