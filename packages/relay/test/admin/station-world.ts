/**
 * A relay on loopback with its admin listener, and two real stations (@backchannel/station,
 * over HTTP) of parties `us` and `ir` exchanging notes through it: what the operator console
 * shows in the real-socket admin test and the console's browser test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createParty, partyCardJson, type Ed25519Key, type NewParty, type RelayCardJson } from '@backchannel/core';
import { Station, systemClock, type StationKeys } from '@backchannel/station';
import type { RunningRelay } from '../../src/options.js';
import { startLoopbackRelay } from '../../testing/index.js';

export interface StationWorld {
  relay: RunningRelay;
  admin: { url: string; token: string };
  card: RelayCardJson;
  db: string;
  /** The relay's log key and origin (a statement is produced with them, as the CLI does). */
  logKey: Ed25519Key;
  origin: string;
  us: Station;
  ir: Station;
  parties: { us: NewParty; ir: NewParty };
  close(): Promise<void>;
}

function keysOf(p: NewParty): StationKeys {
  return {
    party: p.bundle.bundle.party,
    bundle: p.bundle,
    station: p.station,
    signers: p.signers.map((s) => ({ id: s.entry.id, key: s.key, certificate: s.certificate })),
    encryption: p.encryption.map((e) => ({ suite: e.suite, pub: e.pub, priv: e.priv })),
    storageKey: new Uint8Array(randomBytes(32)),
  };
}

/** `clock`: the time the relay and both stations read (the screenshot tool plays a day in seconds). */
export async function stationWorld(options: { adminToken?: string; clock?: () => number } = {}): Promise<StationWorld> {
  const clock = options.clock ?? Date.now;
  const dir = mkdtempSync(join(tmpdir(), 'bc-admin-'));
  const now = clock() - 60_000;
  const us = await createParty({ id: 'us', name: 'United States', now });
  const ir = await createParty({ id: 'ir', name: 'Islamic Republic of Iran', now });
  const ch = await startLoopbackRelay({
    id: 'ch',
    name: 'Swiss protecting power',
    dir,
    parties: [partyCardJson(us.bundle), partyCardJson(ir.bundle)],
    clock,
    adminListen: { host: '127.0.0.1', port: 0, ...(options.adminToken === undefined ? {} : { token: options.adminToken }) },
  });
  const { card, db, logKey, origin } = ch;
  const relay = ch.running!;
  const stations: Station[] = [];
  try {
    const open = async (p: NewParty, file: string): Promise<Station> => {
      const s = await Station.open({ path: join(dir, file), keys: keysOf(p), timers: false, clock: { now: clock, setTimer: (ms, fn) => systemClock.setTimer(ms, fn) } });
      stations.push(s);
      await s.addRelay(card);
      return s;
    };
    const usDesk = await open(us, 'us.db');
    const irDesk = await open(ir, 'ir.db');
    await usDesk.pinParty(partyCardJson(ir.bundle), { fingerprint: partyCardJson(ir.bundle).fingerprint });
    await irDesk.pinParty(partyCardJson(us.bundle), { fingerprint: partyCardJson(us.bundle).fingerprint });
    if (relay.admin === undefined) throw new Error('the relay started without its admin listener');
    return {
      relay,
      admin: { url: relay.admin.url, token: relay.admin.token },
      card,
      db,
      logKey,
      origin,
      us: usDesk,
      ir: irDesk,
      parties: { us, ir },
      close: async () => {
        for (const s of stations) await s.close();
        await relay.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    for (const s of stations) await s.close();
    await relay.close();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
