/**
 * The soak (issue 8, scenario 6): notes at a steady rate from one party to the other through
 * three relays, each a real process behind a FaultProxy, with the channel faults of the
 * matrix injected on a schedule (one relay at a time, so a channel always stays healthy).
 * It samples each relay process's resident memory and heap (from its /metrics), measures
 * delivery latency per window, and at the end checks that every note was delivered exactly
 * once. tools/soak.ts runs it for an hour; a 30-second version runs in npm test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ed25519Key, deriveOrigin, makeRelayCard, partyCardJson, toHex, type Precedence } from '@backchannel/core';
import { FaultProxy } from '@backchannel/faults';
import { freePort } from '@backchannel/relay/testing';
import { Station } from '@backchannel/station';
import { spawnRelay, type RelayProcess } from '../../relay/test/helpers/spawn-relay.js';
import { channelFaults } from './channel-faults.js';
import { eventually, percentile } from './eventually.js';
import { keysOf, makeWorldParty } from './world.js';

export interface SoakOptions {
  seconds: number;
  /** Notes per second, from us to ir. */
  rate?: number;
  /** A fault starts on one relay every this many seconds and lasts `faultForS`. */
  faultEveryS?: number;
  faultForS?: number;
  /** Memory is sampled, and latency summarised, per window of this many seconds. */
  windowS?: number;
  /** Multiplies delivery objectives (default 0.05: FLASH's 5 minutes become 15 s, IMMEDIATE's 30 minutes 90 s). */
  timeScale?: number;
  log?: (line: string) => void;
}

export interface RelaySample {
  relay: string;
  rssMiB: number;
  heapMiB: number;
}

export interface SoakWindow {
  /** Seconds from the start to the end of the window. */
  until: number;
  sent: number;
  delivered: number;
  p50Ms: number;
  p99Ms: number;
  relays: RelaySample[];
}

export interface SoakReport {
  startedAt: string;
  seconds: number;
  rate: number;
  sent: number;
  delivered: number;
  /** Sent notes never shown to the recipient: must be 0. */
  lost: number;
  /** Notes shown more than once: must be 0. */
  duplicates: number;
  faults: { at: number; relay: string; fault: string }[];
  alerts: Record<string, number>;
  windows: SoakWindow[];
  latency: { p50Ms: number; p99Ms: number; maxMs: number };
  machine: { node: string; cpus: number; platform: string };
}

interface SoakRelay {
  id: string;
  proxy: FaultProxy;
  process: RelayProcess;
}

async function sampleRelay(r: SoakRelay): Promise<RelaySample> {
  const text = await (await fetch(`${r.process.url}/metrics`)).text();
  const num = (name: string): number => {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
    return m === null ? Number.NaN : Number(m[1]);
  };
  return { relay: r.id, rssMiB: num('process_resident_memory_bytes') / 1048576, heapMiB: num('nodejs_heap_size_used_bytes') / 1048576 };
}

export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  const log = o.log ?? (() => undefined);
  const rate = o.rate ?? 2;
  const windowS = o.windowS ?? 60;
  const faultEveryS = o.faultEveryS ?? 20;
  const faultForS = o.faultForS ?? 8;
  const dir = mkdtempSync(join(tmpdir(), 'bc-soak-'));
  const now = Date.now() - 60_000;
  const us = await makeWorldParty('us', 'United States', now);
  const ir = await makeWorldParty('ir', 'Islamic Republic of Iran', now);
  const relays: SoakRelay[] = [];
  const stations: Station[] = [];
  try {
    for (const id of ['ch', 'om', 'qa']) {
      const publicPort = await freePort();
      const url = `http://127.0.0.1:${String(publicPort)}`;
      const logKey = Ed25519Key.generate();
      const origin = deriveOrigin(url, id);
      const card = makeRelayCard({ id, name: `Relay ${id}`, url, origin, logKey });
      const process = await spawnRelay({
        id,
        name: `Relay ${id}`,
        url,
        origin,
        logKeySeed: toHex(logKey.exportSeed()),
        card,
        db: `sqlite:${join(dir, `${id}.db`)}`,
        listen: { host: '127.0.0.1', port: 0 },
        mandate: [{ card: partyCardJson(us.keys.bundle) }, { card: partyCardJson(ir.keys.bundle) }],
      });
      const proxy = await FaultProxy.start({ target: process.url, port: publicPort, rogue: { logKey, origin } });
      relays.push({ id, proxy, process });
    }
    const policy = { requestTimeoutMs: 3000, sendTimeoutMs: 4000 };
    const open = async (self: typeof us, peer: typeof us, file: string): Promise<Station> => {
      const s = await Station.open({ path: join(dir, file), keys: keysOf(self), policy, timeScale: o.timeScale ?? 0.05 });
      stations.push(s);
      for (const r of relays) {
        const { card } = await fetch(`${r.process.url}/card`).then(async (res) => ({ card: (await res.json()) as unknown }));
        await s.addRelay(card);
      }
      await s.pinParty(JSON.stringify(partyCardJson(peer.keys.bundle)));
      return s;
    };
    const sender = await open(us, ir, 'us.db');
    const recipient = await open(ir, us, 'ir.db');

    const t0 = Date.now();
    const end = t0 + o.seconds * 1000;
    const sent = new Map<string, { at: number; window: number }>();
    const latency = new Map<string, number>();
    const faults: SoakReport['faults'] = [];
    const windows: SoakWindow[] = [];
    const windowOf = (t: number): number => Math.floor((t - t0) / (windowS * 1000));
    // FLASH on every channel, IMMEDIATE on two: a fault on one relay leaves each note a healthy channel.
    const precedences: Precedence[] = ['FLASH', 'IMMEDIATE'];
    // Read through a function: the loops below check it after awaits, where a later write lands.
    const run = { stop: false };
    const stopped = (): boolean => run.stop;

    // The recipient's desk: watching (push, the FLASH path), with a sync every few seconds for
    // what a faulted push channel missed; notes when each note first arrived.
    const arrived = async (id: string | undefined): Promise<void> => {
      // Not checked against `sent`: a FLASH copy is often pushed before the sender's `send` returns.
      if (id === undefined || latency.has(id)) return;
      const n = await recipient.show(id).catch(() => undefined);
      const valid = n?.copies.filter((c) => c.valid) ?? [];
      if (n === undefined || valid.length === 0) return;
      latency.set(id, Math.min(...valid.map((c) => c.received_at)) - n.created);
    };
    const watch = await recipient.watch({
      reconnectMs: 1000,
      onEvent: (e) => {
        if (e.type === 'received' && e.entry.valid) void arrived(e.entry.id);
      },
    });
    // The sender's desk watches too, as its daemon would: delivery records come by push, and a
    // sync now and then, so notes stop being tracked once delivered (and deadlines stay cheap).
    const senderWatch = await sender.watch({ reconnectMs: 1000 });
    const receiving = (async () => {
      while (!stopped()) {
        await new Promise((r2) => setTimeout(r2, 3000));
        const r = await recipient.sync().catch(() => undefined);
        for (const e of r?.received ?? []) if (e.valid) await arrived(e.id);
        await sender.sync().catch(() => undefined);
      }
    })();
    // The nemesis: one relay at a time, a fault from the matrix, then healed.
    const nemesis = (async () => {
      let k = 0;
      while (!stopped() && Date.now() + faultEveryS * 1000 < end) {
        await new Promise((r) => setTimeout(r, faultEveryS * 1000));
        if (stopped()) break;
        const r = relays[k % relays.length]!;
        const f = channelFaults[k % channelFaults.length]!;
        k++;
        f.apply(r.proxy);
        faults.push({ at: Math.round((Date.now() - t0) / 1000), relay: r.id, fault: f.name });
        log(`fault ${f.name} on ${r.id}`);
        await new Promise((res) => setTimeout(res, faultForS * 1000));
        r.proxy.setFault({ kind: 'pass' });
        r.proxy.heal();
      }
    })();
    // Memory and latency per window.
    let lastWindow = 0;
    const closeWindow = async (w: number): Promise<void> => {
      const inWindow = [...sent.entries()].filter(([, v]) => v.window === w).map(([id]) => id);
      const lat = inWindow.flatMap((id) => (latency.has(id) ? [latency.get(id)!] : []));
      const samples = await Promise.all(relays.map(sampleRelay));
      windows.push({ until: (w + 1) * windowS, sent: inWindow.length, delivered: lat.length, p50Ms: percentile(lat, 50), p99Ms: percentile(lat, 99), relays: samples });
      log(`window ${String(w)}: sent ${String(inWindow.length)}, p50 ${percentile(lat, 50).toFixed(0)} ms, relay RSS ${samples.map((s) => `${s.relay} ${s.rssMiB.toFixed(0)}`).join(' ')} MiB`);
    };

    // The sender: a steady rate, each note's send awaited (send returns once relays answered).
    let i = 0;
    while (Date.now() < end) {
      const due = t0 + (i * 1000) / rate;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      const w = windowOf(Date.now());
      if (w > lastWindow) {
        // Latency of a window is read one window later, once its notes had time to arrive.
        if (lastWindow > 0) await closeWindow(lastWindow - 1);
        lastWindow = w;
      }
      const r = await sender.send({ to: 'ir', precedence: precedences[i % precedences.length]!, subject: `soak ${String(i)}`, body: `Soak note ${String(i)}.` }).catch((e: unknown) => {
        log(`send ${String(i)} failed: ${String(e)}`);
        return undefined;
      });
      if (r !== undefined) sent.set(r.id, { at: Date.now(), window: w });
      i++;
    }
    // Faults healed; every note must still arrive (a note whose channel was faulted fails over at half its deadline).
    run.stop = true;
    await nemesis;
    for (const r of relays) {
      r.proxy.setFault({ kind: 'pass' });
      r.proxy.heal();
    }
    await receiving;
    await watch.close();
    await senderWatch.close();
    await eventually(async () => {
      await sender.checkDeadlines();
      await recipient.sync();
      const inbox = new Set((await recipient.inbox({ limit: 1_000_000 })).map((e) => e.id));
      return [...sent.keys()].every((id) => inbox.has(id));
    }, 120_000, 'every soak note delivered').catch((e: unknown) => {
      log(String(e));
    });
    for (let w = Math.max(0, lastWindow - 1); w <= lastWindow; w++) await closeWindow(w);
    const inbox = await recipient.inbox({ limit: 1_000_000 });
    const shown = new Map<string, number>();
    for (const e of inbox) shown.set(e.id, (shown.get(e.id) ?? 0) + 1);
    for (const id of sent.keys()) {
      if (!latency.has(id) && shown.has(id)) {
        const n = await recipient.show(id);
        latency.set(id, Math.min(...n.copies.filter((c) => c.valid).map((c) => c.received_at)) - n.created);
      }
    }
    const all = [...latency.values()];
    const alerts: Record<string, number> = {};
    for (const s of [sender, recipient]) for (const a of await s.alerts()) alerts[a.kind] = (alerts[a.kind] ?? 0) + 1;
    const { cpus, platform } = await import('node:os');
    return {
      startedAt: new Date(t0).toISOString(),
      seconds: Math.round((Date.now() - t0) / 1000),
      rate,
      sent: sent.size,
      delivered: [...sent.keys()].filter((id) => shown.has(id)).length,
      lost: [...sent.keys()].filter((id) => !shown.has(id)).length,
      duplicates: [...shown.values()].filter((n) => n > 1).length,
      faults,
      alerts,
      windows,
      latency: { p50Ms: percentile(all, 50), p99Ms: percentile(all, 99), maxMs: Math.max(0, ...all) },
      machine: { node: process.version, cpus: cpus().length, platform: platform() },
    };
  } finally {
    for (const s of stations) await s.close();
    for (const r of relays) {
      await r.proxy.close();
      await r.process.stop();
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The report as Markdown, for docs/reliability.md and the tool's output. */
export function soakMarkdown(r: SoakReport): string {
  const rows = r.windows.map((w) => `| ${String(w.until)} | ${String(w.sent)} | ${String(w.delivered)} | ${w.p50Ms.toFixed(0)} | ${w.p99Ms.toFixed(0)} | ${w.relays.map((s) => `${s.relay} ${s.rssMiB.toFixed(0)}/${s.heapMiB.toFixed(0)}`).join(', ')} |`);
  return [
    `Soak started ${r.startedAt}, ${String(r.seconds)} s at ${String(r.rate)} notes/s (${r.machine.node}, ${String(r.machine.cpus)} CPUs, ${r.machine.platform}).`,
    '',
    `- notes sent ${String(r.sent)}, delivered ${String(r.delivered)}, **lost ${String(r.lost)}**, shown twice ${String(r.duplicates)}`,
    `- faults injected ${String(r.faults.length)}: ${[...new Set(r.faults.map((f) => f.fault))].join(', ')}`,
    `- alerts: ${Object.entries(r.alerts).map(([k, v]) => `${k} ${String(v)}`).join(', ') || 'none'}`,
    `- delivery latency p50 ${r.latency.p50Ms.toFixed(0)} ms, p99 ${r.latency.p99Ms.toFixed(0)} ms, max ${r.latency.maxMs.toFixed(0)} ms`,
    '',
    '| until (s) | sent | delivered | p50 ms | p99 ms | relay RSS/heap MiB |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
