/**
 * Relay memory over a long run (issue 9: "memory of a relay flat over a 10-minute run at 2,000
 * notes/s"). The relay runs in a process of its own (startRelay, SQLite, --expose-gc) and a
 * paced generator (relay-accept-child.ts, role `synth`) submits fresh envelopes at the offered
 * rate over 64 connections. Every `sampleSeconds` the relay collects garbage and reports its
 * resident set and live heap. Flat means: after the first minute (JIT, caches, SQLite's page
 * cache filling), the live heap does not grow — its least-squares slope over the rest of the run
 * stays under 1 MiB per minute, and its last sample is within 10 % (or 8 MiB) of the first.
 *
 *   npx tsx bench/relay-memory.ts [--seconds=600] [--rate=2000]
 */
import { fileURLToPath } from 'node:url';
import { collectStderr, freshDatabase, nextMessage, spawnChild, stopRun } from './relay-accept.js';

export interface MemorySample {
  /** Seconds since the load started. */
  t: number;
  rssMiB: number;
  heapMiB: number;
}

export interface MemoryResult {
  seconds: number;
  offeredRate: number;
  achievedRate: number;
  accepted: number;
  refused: number;
  lastRefusal: string;
  samples: MemorySample[];
  /** Live heap slope after the first minute (or after the first sixth of a short run), MiB per minute. */
  heapSlopeMiBPerMin: number;
  rssStartMiB: number;
  rssEndMiB: number;
  rssMaxMiB: number;
  flat: boolean;
}

const MiB = 1024 * 1024;

function slope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export async function measureRelayMemory(o: { seconds: number; rate: number; sampleSeconds: number; payloadBytes?: number }): Promise<MemoryResult> {
  const db = await freshDatabase('sqlite', 9000 + Math.floor(Math.random() * 1000));
  const relay = spawnChild('relay', { BC_ACCEPT_DB: db.url, BC_ACCEPT_ENVSIG: '0' }, ['--expose-gc']);
  const relayErr = collectStderr(relay);
  let load: ReturnType<typeof spawnChild> | undefined;
  try {
    const { port } = (await nextMessage(relay, 'listening', relayErr)) as unknown as { port: number };
    load = spawnChild('synth', {
      BC_ACCEPT_PORT: String(port),
      BC_ACCEPT_CONCURRENCY: '64',
      BC_ACCEPT_SECONDS: String(o.seconds),
      BC_ACCEPT_RATE: String(o.rate),
      BC_ACCEPT_PAYLOAD: String(o.payloadBytes ?? 2048),
    });
    const loadErr = collectStderr(load);
    await nextMessage(load, 'ready', loadErr);
    const sampleNow = async (t0: number): Promise<MemorySample> => {
      const next = nextMessage(relay, 'memory', relayErr);
      relay.send({ type: 'memory' });
      const m = (await next) as unknown as { rss: number; heapUsed: number };
      return { t: (performance.now() - t0) / 1000, rssMiB: m.rss / MiB, heapMiB: m.heapUsed / MiB };
    };
    const t0 = performance.now();
    const samples: MemorySample[] = [await sampleNow(t0)];
    const result = nextMessage(load, 'result', loadErr);
    load.send({ type: 'go' });
    const load0 = { done: false };
    const finished = (): boolean => load0.done;
    void result.then(
      () => (load0.done = true),
      () => (load0.done = true),
    );
    while (!finished()) {
      await Promise.race([new Promise((r) => setTimeout(r, o.sampleSeconds * 1000)), result]);
      if (!finished()) {
        samples.push(await sampleNow(t0));
        process.stderr.write(`    ${samples.at(-1)!.t.toFixed(0)} s: RSS ${samples.at(-1)!.rssMiB.toFixed(0)} MiB, live heap ${samples.at(-1)!.heapMiB.toFixed(1)} MiB\n`);
      }
    }
    const r = (await result) as unknown as { accepted: number; refused: number; lastRefusal: string; ms: number };
    samples.push(await sampleNow(t0));
    const settle = Math.min(60, o.seconds / 6);
    const late = samples.filter((s) => s.t >= settle);
    const heapSlope = slope(late.map((s) => ({ x: s.t / 60, y: s.heapMiB }))); // MiB per minute
    const first = late[0] ?? samples[0]!;
    const last = samples.at(-1)!;
    const flat = heapSlope < 1 && last.heapMiB <= Math.max(first.heapMiB * 1.1, first.heapMiB + 8);
    return {
      seconds: r.ms / 1000,
      offeredRate: o.rate,
      achievedRate: r.accepted / (r.ms / 1000),
      accepted: r.accepted,
      refused: r.refused,
      lastRefusal: r.lastRefusal,
      samples,
      heapSlopeMiBPerMin: heapSlope,
      rssStartMiB: first.rssMiB,
      rssEndMiB: last.rssMiB,
      rssMaxMiB: Math.max(...samples.map((s) => s.rssMiB)),
      flat,
    };
  } finally {
    await stopRun(relay, load, db);
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = (name: string, dflt: string): string => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
  const r = await measureRelayMemory({ seconds: Number(arg('seconds', '600')), rate: Number(arg('rate', '2000')), sampleSeconds: Number(arg('sample', '10')) });
  const { samples, ...rest } = r;
  process.stdout.write(`${JSON.stringify(rest, null, 2)}\n${samples.map((s) => `${s.t.toFixed(0)}\t${s.rssMiB.toFixed(1)}\t${s.heapMiB.toFixed(1)}`).join('\n')}\n`);
}
