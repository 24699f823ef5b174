/**
 * The demo's temporary world: three relays (`ch`, `om`, `qa`), each its own process with its
 * own SQLite file, log key and port on 127.0.0.1, each reached through a fault proxy; `om` also
 * witnesses `ch`'s log; two parties (`us`, `ir`) with an in-process station each, cards pinned
 * both ways with the fingerprints checked. Everything it creates is registered as it is created,
 * so `close()` removes all of it — processes, proxies, stores, the temporary folder — whatever
 * point creation reached.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ed25519Key, createParty, deriveOrigin, makeRelayCard, parsePartyCard, partyCardJson, systemRandom, toHex, type NewParty, type PartyCardJson, type RelayCardJson, type SignerSpec } from '@backchannel/core';
import { FaultProxy } from '@backchannel/faults';
import { freePort } from '@backchannel/relay/testing';
import { Station, type StationKeys } from '@backchannel/station';
import type { RunnerConfig, RunnerReply, RunnerRequest } from './runner-protocol.js';

export const RELAYS = [
  { id: 'ch', name: 'Swiss Confederation (protecting power)' },
  { id: 'om', name: 'Sultanate of Oman' },
  { id: 'qa', name: 'State of Qatar' },
] as const;
export type RelayId = (typeof RELAYS)[number]['id'];

export interface DemoRelay {
  id: RelayId;
  name: string;
  /** The URL in its card: the fault proxy in front of it. */
  url: string;
  /** Where the relay process itself listens. */
  directUrl: string;
  pid: number;
  card: RelayCardJson;
  logKey: Ed25519Key;
  origin: string;
  db: string;
  proxy: FaultProxy;
  child: ChildProcess;
}

export interface DemoParty {
  id: 'us' | 'ir';
  name: string;
  keys: NewParty;
  card: PartyCardJson;
  station: Station;
}

export interface WorldOptions {
  timeScale: number;
  signal?: AbortSignal | undefined;
  /** Told about what the stations' timers did (failovers, missed deadlines). */
  onTimer?: (party: string, what: string) => void;
}

const RUNNER = fileURLToPath(new URL('./relay-runner.ts', import.meta.url));
const STARTUP_MS = 30_000;

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
async function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (exited(child)) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => {
    resolve();
  }));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}

export class World {
  readonly dir: string;
  readonly relays = new Map<RelayId, DemoRelay>();
  readonly parties = new Map<'us' | 'ir', DemoParty>();
  /** om's witness key and name, as its card names them. */
  witnessVkey = '';
  readonly #children: ChildProcess[] = [];
  readonly #proxies: FaultProxy[] = [];
  readonly #stations: Station[] = [];
  #ref = 0;
  #closed = false;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Builds the whole world; on failure, removes whatever was built and rethrows. */
  static async create(o: WorldOptions): Promise<World> {
    const w = new World(mkdtempSync(join(tmpdir(), 'backchannel-demo-')));
    try {
      await w.#build(o);
      return w;
    } catch (e) {
      await w.close();
      throw e;
    }
  }

  relay(id: RelayId): DemoRelay {
    const r = this.relays.get(id);
    if (r === undefined) throw new Error(`no relay ${id}`);
    return r;
  }

  party(id: 'us' | 'ir'): DemoParty {
    const p = this.parties.get(id);
    if (p === undefined) throw new Error(`no party ${id}`);
    return p;
  }

  /** The PIDs of every relay process started. */
  get pids(): number[] {
    return this.#children.map((c) => c.pid).filter((p): p is number => p !== undefined);
  }

  async #build(o: WorldOptions): Promise<void> {
    const now = Date.now() - 60_000;
    const signal = o.signal;
    const check = (): void => {
      if (signal?.aborted === true) throw new Error('the demo was interrupted');
    };
    // The parties: a root, an encryption key, a desk, and signers certified for offices and officials.
    const specs: { id: 'us' | 'ir'; name: string; signers: SignerSpec[] }[] = [
      {
        id: 'us',
        name: 'United States of America',
        signers: [
          { id: 'secretary', name: 'The Secretary of State', title: 'Secretary of State', level: 'official' },
          { id: 'department', name: 'Department of State', title: 'Institutional', level: 'institutional' },
        ],
      },
      {
        id: 'ir',
        name: 'Islamic Republic of Iran',
        signers: [
          { id: 'institution', name: 'Islamic Republic of Iran', title: 'Institutional', level: 'institutional' },
          { id: 'minister', name: 'The Minister of Foreign Affairs', title: 'Minister of Foreign Affairs', level: 'official' },
        ],
      },
    ];
    const made = await Promise.all(specs.map(async (s) => ({ s, keys: await createParty({ id: s.id, name: s.name, now, random: systemRandom, signers: s.signers }) })));
    const cards = made.map((m) => partyCardJson(m.keys.bundle));
    for (const c of cards) parsePartyCard(c);
    check();

    // The relays' keys, ports, proxies and cards (a card names the proxy's URL: what stations reach).
    const plans = await Promise.all(
      RELAYS.map(async (r) => {
        const port = await freePort();
        const proxy = await FaultProxy.start({ target: `http://127.0.0.1:${port}` });
        this.#proxies.push(proxy);
        const logKey = Ed25519Key.generate();
        const origin = deriveOrigin(proxy.url, r.id);
        return { ...r, port, proxy, logKey, origin };
      }),
    );
    const byId = (id: RelayId) => plans.find((p) => p.id === id)!;
    const omWitnessKey = Ed25519Key.generate();
    const om = byId('om');
    const omWitnessName = `${om.origin}/witness`;
    const relayCards = new Map<RelayId, RelayCardJson>();
    for (const p of plans) {
      relayCards.set(
        p.id,
        makeRelayCard({ id: p.id, name: p.name, url: p.proxy.url, origin: p.origin, logKey: p.logKey, ...(p.id === 'om' ? { witnessKey: omWitnessKey, witnessName: omWitnessName } : {}) }),
      );
    }
    this.witnessVkey = relayCards.get('om')!.witness ?? '';
    // qa's proxy holds qa's log key: it can act as the compromised relay when the story says so.
    const qa = byId('qa');
    await qa.proxy.close();
    this.#proxies.splice(this.#proxies.indexOf(qa.proxy), 1);
    qa.proxy = await FaultProxy.start({ target: `http://127.0.0.1:${qa.port}`, port: qa.proxy.port, rogue: { logKey: qa.logKey, origin: qa.origin } });
    this.#proxies.push(qa.proxy);
    check();

    // Each relay its own process.
    const started = await Promise.all(
      plans.map((p) => {
        const config: RunnerConfig = {
          id: p.id,
          name: p.name,
          url: p.proxy.url,
          origin: p.origin,
          logSeed: toHex(p.logKey.exportSeed()),
          card: relayCards.get(p.id),
          db: `sqlite:${join(this.dir, `${p.id}.db`)}`,
          port: p.port,
          mandate: cards,
          ...(p.id === 'om' ? { witness: { seed: toHex(omWitnessKey.exportSeed()), name: omWitnessName, logs: [relayCards.get('ch')!.vkey] } } : {}),
          // ch offers every checkpoint to om's witness, directly (relay to relay, not through a proxy).
          ...(p.id === 'ch' ? { witnesses: [{ url: `http://127.0.0.1:${om.port}/witness`, vkey: this.witnessVkey }] } : {}),
        };
        const file = join(this.dir, `${p.id}.json`);
        writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
        return this.#spawn(p.id, file, signal).then((pid) => ({ p, pid, db: config.db }));
      }),
    );
    for (const { p, pid, db } of started) {
      this.relays.set(p.id, {
        id: p.id,
        name: p.name,
        url: p.proxy.url,
        directUrl: `http://127.0.0.1:${p.port}`,
        pid,
        card: relayCards.get(p.id)!,
        logKey: p.logKey,
        origin: p.origin,
        db,
        proxy: p.proxy,
        child: this.#children.find((c) => c.pid === pid)!,
      });
    }
    check();

    // The stations: relays added as channels (ch first: the primary), the other party pinned
    // with the fingerprint read out of band.
    const policy = { requestTimeoutMs: 3000, sendTimeoutMs: 4000 };
    for (const { s, keys } of made) {
      const station = await Station.open({
        path: join(this.dir, `${s.id}-station.db`),
        keys: keysOf(s.id, keys),
        policy,
        timeScale: o.timeScale,
        onTimer: (r) => {
          if (r instanceof Error) o.onTimer?.(s.id, `timer failed: ${r.message}`);
          else if (r.failovers.length + r.missed.length + r.drops.length > 0) o.onTimer?.(s.id, JSON.stringify(r));
        },
      });
      this.#stations.push(station);
      this.parties.set(s.id, { id: s.id, name: s.name, keys, card: partyCardJson(keys.bundle), station });
    }
    for (const p of this.parties.values()) {
      for (const [rank, r] of RELAYS.entries()) await p.station.addRelay(relayCards.get(r.id), { fingerprint: relayCards.get(r.id)!.fingerprint, rank });
      const other = this.party(p.id === 'us' ? 'ir' : 'us');
      await p.station.pinParty(JSON.stringify(other.card), { fingerprint: other.card.fingerprint });
    }
  }

  #spawn(id: string, configFile: string, signal: AbortSignal | undefined): Promise<number> {
    const child = fork(RUNNER, [configFile], {
      execArgv: ['--import', 'tsx'],
      cwd: fileURLToPath(new URL('../../..', import.meta.url)),
      env: { ...process.env, BACKCHANNEL_LOG_LEVEL: 'error' },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.#children.push(child);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        finish(new Error(`relay ${id} did not start within ${STARTUP_MS / 1000} s${stderr === '' ? '' : `: ${stderr.trim()}`}`));
      }, STARTUP_MS);
      const onAbort = (): void => {
        finish(new Error('the demo was interrupted'));
      };
      signal?.addEventListener('abort', onAbort);
      const onMessage = (m: RunnerReply): void => {
        if (m.type === 'ready') finish(undefined, m.pid);
        else if (m.type === 'failed') finish(new Error(`relay ${id} failed to start: ${m.message}`));
      };
      const onExit = (code: number | null): void => {
        finish(new Error(`relay ${id} exited (${code ?? 'signal'}) before it listened${stderr === '' ? '' : `: ${stderr.trim()}`}`));
      };
      function finish(err: Error | undefined, pid?: number): void {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        child.off('message', onMessage);
        child.off('exit', onExit);
        if (err !== undefined) reject(err);
        else resolve(pid!);
      }
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.once('error', (e) => {
        finish(e);
      });
    });
  }

  /** Asks a relay process, as its operator, for a signed transmission statement. */
  statement(id: RelayId, pair: [string, string], since: number, until: number): Promise<{ bytes: string; count: number; size: number; cosignatures: number }> {
    const child = this.relay(id).child;
    const ref = ++this.#ref;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        done();
        reject(new Error(`relay ${id} did not produce a statement in time`));
      }, 15_000);
      const onMessage = (m: RunnerReply): void => {
        if (m.type === 'statement' && m.ref === ref) {
          done();
          resolve(m);
        } else if (m.type === 'error' && m.ref === ref) {
          done();
          reject(new Error(`relay ${id} refused the statement: ${m.message}`));
        }
      };
      const done = (): void => {
        clearTimeout(timer);
        child.off('message', onMessage);
      };
      child.on('message', onMessage);
      const req: RunnerRequest = { type: 'statement', ref, pair, since, until };
      child.send(req);
    });
  }

  /** Stops every station, proxy and relay process and removes the temporary folder. Never throws. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#stations) await s.close().catch(() => undefined);
    await Promise.all(this.#proxies.map((p) => p.close().catch(() => undefined)));
    await Promise.all(this.#children.map((c) => stopChild(c).catch(() => undefined)));
    try {
      rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // reported by the caller's check, if any
    }
  }
}

function keysOf(party: string, k: NewParty): StationKeys {
  return {
    party,
    bundle: k.bundle,
    station: k.station,
    signers: k.signers.map((s) => ({ id: s.entry.id, key: s.key, certificate: s.certificate })),
    encryption: k.encryption.map((e) => ({ suite: e.suite, pub: e.pub, priv: e.priv })),
    storageKey: systemRandom(32),
  };
}
