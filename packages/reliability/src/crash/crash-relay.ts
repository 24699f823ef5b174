/**
 * A relay that is killed and restarted: a real process (the relay's own test fixture, started
 * through its `spawnRelay` helper) on a port fixed for the whole test, because the relay card the
 * stations pinned names its URL, and on one database that outlives every process.
 */
import { Ed25519Key, deriveOrigin, fromBase64, makeRelayCard, openCheckpoint, parseVkey, toHex, verifyConsistency, type Checkpoint, type RelayCardJson, type Vkey } from '@backchannel/core';
import { freePort } from '@backchannel/relay/testing';
import type { RelayProcessOptions } from '../../../relay/test/fixtures/relay-process.js';
import { spawnRelay, type RelayProcess } from '../../../relay/test/helpers/spawn-relay.js';

export interface CrashRelay {
  id: string;
  url: string;
  card: RelayCardJson;
  vkey: Vkey;
  options: RelayProcessOptions;
  /** The running process, if any. */
  process: RelayProcess | undefined;
  start(): Promise<RelayProcess>;
  /** kill -9 and wait for the process to be gone. */
  kill9(): Promise<void>;
  /** SIGTERM, if running (the end of a test). */
  stop(): Promise<void>;
}

export async function crashRelay(id: string, db: string, parties: readonly { card: unknown }[], extra: Partial<RelayProcessOptions> = {}): Promise<CrashRelay> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logKey = Ed25519Key.generate();
  const origin = deriveOrigin(url, id);
  const name = `Relay ${id}`;
  const card = makeRelayCard({ id, name, url, origin, logKey });
  const options: RelayProcessOptions = {
    id,
    name,
    url,
    origin,
    logKeySeed: toHex(logKey.exportSeed()),
    card,
    db,
    listen: { host: '127.0.0.1', port },
    mandate: parties.map((p) => ({ card: p.card })),
    ...extra,
  };
  const r: CrashRelay = {
    id,
    url,
    card,
    vkey: parseVkey(card.vkey),
    options,
    process: undefined,
    async start() {
      r.process = await spawnRelay(options);
      return r.process;
    },
    async kill9() {
      const p = r.process;
      r.process = undefined;
      await p?.kill9();
    },
    async stop() {
      const p = r.process;
      r.process = undefined;
      if (p !== undefined && p.child.exitCode === null && p.child.signalCode === null) await p.stop();
    },
  };
  return r;
}

/**
 * Every checkpoint a relay handed out, so that each later head can be checked against all of
 * them (RFC 9162 consistency proofs, fetched from the relay and verified here).
 */
export class CheckpointLedger {
  readonly #seen = new Map<number, Checkpoint>();
  readonly #vkey: Vkey;

  constructor(vkey: Vkey) {
    this.#vkey = vkey;
  }

  get size(): number {
    return this.#seen.size;
  }

  /** Opens a signed checkpoint note; a second, different root for a size seen before is a fork. */
  record(note: string): Checkpoint {
    return this.remember(openCheckpoint(note, this.#vkey).checkpoint);
  }

  /** Keeps a checkpoint already verified (the one a receipt carries). */
  remember(cp: Checkpoint): Checkpoint {
    const prior = this.#seen.get(cp.size);
    if (prior !== undefined && toHex(prior.rootHash) !== toHex(cp.rootHash)) throw new Error(`fork: two roots for size ${cp.size}`);
    this.#seen.set(cp.size, cp);
    return cp;
  }

  /** Fetches the relay's head and records it. */
  async poll(url: string): Promise<Checkpoint> {
    const res = await fetch(`${url}/checkpoint`);
    if (res.status !== 200) throw new Error(`GET /checkpoint answered ${res.status}`);
    return this.record(await res.text());
  }

  /** The head now extends every checkpoint seen before (each proof verified); returns the head. */
  async verifyAll(url: string): Promise<Checkpoint> {
    const head = await this.poll(url);
    for (const cp of this.#seen.values()) {
      if (cp.size > head.size) throw new Error(`the head (size ${head.size}) is behind a checkpoint handed out before (size ${cp.size})`);
      if (cp.size === 0 || cp.size === head.size) continue;
      const res = await fetch(`${url}/v1/log/proof/consistency?first=${cp.size}&second=${head.size}`);
      if (res.status !== 200) throw new Error(`consistency proof ${cp.size}→${head.size} answered ${res.status}`);
      const p = (await res.json()) as { consistency_path: string[] };
      verifyConsistency(cp.size, head.size, p.consistency_path.map(fromBase64), cp.rootHash, head.rootHash);
    }
    return head;
  }
}
