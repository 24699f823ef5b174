/**
 * The world the channel-fault tests and the soak run in: two parties, N real relays on
 * loopback (each on its own SQLite file, in this process), each behind a FaultProxy whose URL
 * is the one on the relay's card, and a Station for each party. Faults are staged only at the
 * proxies, never by special code paths in the relay or the station.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createParty, partyCardJson, systemRandom, type NewParty, type PartyCardJson } from '@backchannel/core';
import { FaultProxy } from '@backchannel/faults';
import type { RelayLimits } from '@backchannel/relay';
import { freePort, startLoopbackRelay, type LoopbackRelay } from '@backchannel/relay/testing';
import { Station, systemClock, type Clock, type StationKeys, type StationOptions } from '@backchannel/station';

export interface WorldParty {
  id: string;
  name: string;
  keys: NewParty;
  card: PartyCardJson;
  storageKey: Uint8Array;
}

/** A relay whose card's URL is its proxy's; `port` is where the relay itself listens. */
export interface WorldRelay extends LoopbackRelay {
  proxy: FaultProxy;
}

export interface World {
  dir: string;
  parties: { us: WorldParty; ir: WorldParty };
  relays: WorldRelay[];
  us: Station;
  ir: Station;
  /** Opens another station for a party (a fresh desk file), pinned to the same relays and peer. */
  openStation(party: 'us' | 'ir', file: string): Promise<Station>;
  close(): Promise<void>;
}

export interface WorldOptions {
  relays?: readonly string[];
  /** Station policy overrides (timeouts, objectives). */
  policy?: StationOptions['policy'];
  /** Multiplies every delivery objective. */
  timeScale?: number;
  limits?: Partial<RelayLimits>;
  /** The sending party's (us) clock, e.g. an OffsetClock a test moves past a deadline. */
  usClock?: Clock;
  /** Whether the stations run their deadline timers (default true). */
  timers?: boolean;
}

/**
 * The system clock plus an offset a test can move forward, to judge a deadline without
 * waiting for it. Timers run in real time. Kept within minutes: relays refuse signed requests
 * more than five minutes off their own clock.
 */
export class OffsetClock implements Clock {
  offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
  setTimer(ms: number, fn: () => void): () => void {
    return systemClock.setTimer(ms, fn);
  }
}

export async function makeWorldParty(id: string, name: string, now: number): Promise<WorldParty> {
  const keys = await createParty({
    id,
    name,
    now,
    random: systemRandom,
    signers: [{ id: 'institution', name, title: 'Institutional', level: 'institutional' }],
  });
  return { id, name, keys, card: partyCardJson(keys.bundle), storageKey: systemRandom(32) };
}

export function keysOf(p: WorldParty): StationKeys {
  return {
    party: p.id,
    bundle: p.keys.bundle,
    station: p.keys.station,
    signers: p.keys.signers.map((s) => ({ id: s.entry.id, key: s.key, certificate: s.certificate })),
    encryption: p.keys.encryption.map((e) => ({ suite: e.suite, pub: e.pub, priv: e.priv })),
    storageKey: p.storageKey,
  };
}

async function worldRelay(id: string, dir: string, parties: readonly WorldParty[], limits: Partial<RelayLimits> | undefined): Promise<WorldRelay> {
  const publicPort = await freePort();
  const relay = await startLoopbackRelay({ id, dir, parties: parties.map((p) => p.card), publicPort, ...(limits === undefined ? {} : { limits }) });
  const proxy = await FaultProxy.start({ target: `http://127.0.0.1:${relay.port}`, port: publicPort, rogue: { logKey: relay.logKey, origin: relay.origin } });
  return Object.assign(relay, { proxy });
}

export async function startWorld(opts: WorldOptions = {}): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'bc-reliability-'));
  const now = Date.now() - 60_000;
  const us = await makeWorldParty('us', 'United States', now);
  const ir = await makeWorldParty('ir', 'Islamic Republic of Iran', now);
  const relays: WorldRelay[] = [];
  for (const id of opts.relays ?? ['ch', 'om', 'qa']) relays.push(await worldRelay(id, dir, [us, ir], opts.limits));
  const stations: Station[] = [];
  const openStation = async (party: 'us' | 'ir', file: string): Promise<Station> => {
    const self = party === 'us' ? us : ir;
    const peer = party === 'us' ? ir : us;
    const desk = await Station.open({
      path: join(dir, file),
      keys: keysOf(self),
      ...(opts.policy === undefined ? {} : { policy: opts.policy }),
      ...(opts.timeScale === undefined ? {} : { timeScale: opts.timeScale }),
      ...(party === 'us' && opts.usClock !== undefined ? { clock: opts.usClock } : {}),
      ...(opts.timers === undefined ? {} : { timers: opts.timers }),
    });
    for (const r of relays) await desk.addRelay(r.card);
    await desk.pinParty(JSON.stringify(peer.card), { fingerprint: peer.card.fingerprint });
    stations.push(desk);
    return desk;
  };
  const usDesk = await openStation('us', 'us.db');
  const irDesk = await openStation('ir', 'ir.db');
  return {
    dir,
    parties: { us, ir },
    relays,
    us: usDesk,
    ir: irDesk,
    openStation,
    async close() {
      for (const s of stations) await s.close();
      for (const r of relays) {
        await r.proxy.close();
        await r.stop();
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
