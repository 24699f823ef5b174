/**
 * Crash safety (DESIGN.md: "survive crashes without losing any envelope they issued a receipt
 * for"). A burst of submissions hits a real relay process, which is killed with SIGKILL in the
 * middle of it; after a restart on the same database:
 *  - every envelope that got a receipt is there (resubmitting it is a duplicate with the same receipt),
 *  - every receipt's leaf is in the log at its index, under the new head,
 *  - the new checkpoint is consistent with every checkpoint handed out before the crash.
 * Cycles: a few in `npm test`, 20 per backend under BACKCHANNEL_LONG=1. These are process
 * crashes, not power losses: the OS keeps what was written (DESIGN.md, "Testing in CI").
 */
import {
  commitLeaf,
  equalBytes,
  fromBase64,
  hashLeaf,
  openCheckpoint,
  parseVkey,
  verifyConsistency,
  verifyInclusion,
  verifyReceipt,
  type Checkpoint,
  type SealedEnvelope,
} from '@backchannel/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, testDb, type TestDb } from '../helpers/databases.js';
import { post, processOptions, spawnRelay, type RelayProcess } from '../helpers/spawn-relay.js';
import { makeWorld, seal, submitBody, token, type World } from '../helpers/world.js';

const LONG = process.env.BACKCHANNEL_LONG === '1';
const BURST = 60;
const IN_FLIGHT = 12;

interface Receipted {
  env: SealedEnvelope;
  body: Buffer;
  index: number;
  receipt: string;
}

describe.each(backends())('kill -9 during a burst, on %s', (backend) => {
  const cycles = LONG ? 20 : backend === 'sqlite' ? 3 : 2;
  let w: World;
  let db: TestDb;
  let relay: RelayProcess | undefined;
  const receipted: Receipted[] = [];
  const checkpoints = new Map<number, Checkpoint>();

  beforeAll(async () => {
    w = await makeWorld();
    db = await testDb(backend);
  });
  afterAll(async () => {
    if (relay !== undefined && relay.child.exitCode === null && relay.child.signalCode === null) await relay.stop();
    await db.drop();
  });

  it(`loses no receipted envelope over ${cycles} crashes`, { timeout: LONG ? 600_000 : 60_000 }, async () => {
    const vkey = parseVkey(w.relay.card.vkey);
    const options = processOptions(w.relay, db.url, [w.us, w.ir]);
    let killedMidBurst = 0;
    for (let cycle = 0; cycle < cycles; cycle++) {
      relay = await spawnRelay(options);
      await verifyEverything(relay.url);
      const envs = await Promise.all(Array.from({ length: BURST }, (_, i) => seal(w.us, w.ir, { precedence: i % 7 === 0 ? 'FLASH' : 'ROUTINE' })));
      const bodies = envs.map((e) => submitBody(e, token(w.us, w.relay.origin, e)));
      // Kill once a random number of receipts has come back: mid-burst, with commits in flight.
      const killAt = 5 + Math.floor(Math.random() * (BURST - 20));
      let got = 0;
      let next = 0;
      const current = relay;
      let killed: Promise<void> | undefined;
      const worker = async (): Promise<void> => {
        while (next < envs.length) {
          const i = next++;
          let res;
          try {
            res = await post(`${current.url}/v1/submit`, bodies[i]!);
          } catch {
            continue; // the connection died with the process: no receipt, no promise made
          }
          if (res.status !== 200) continue;
          const b = res.body as { index: number; receipt: string };
          const v = verifyReceipt(b.receipt, vkey, { type: 'submit', digest: envs[i]!.digest });
          checkpoints.set(v.checkpoint.size, v.checkpoint);
          receipted.push({ env: envs[i]!, body: bodies[i]!, index: b.index, receipt: b.receipt });
          if (++got === killAt) killed = current.kill9();
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
      if (killed === undefined) killed = current.kill9();
      else killedMidBurst++;
      await killed;
    }
    relay = await spawnRelay(options);
    await verifyEverything(relay.url);
    expect(killedMidBurst).toBe(cycles);
    expect(receipted.length).toBeGreaterThan(cycles * 5);
    console.info(`relay (${backend}): ${cycles} kill -9 cycles, ${receipted.length} receipted envelopes all present, ${checkpoints.size} checkpoints consistent`);

    async function verifyEverything(url: string): Promise<void> {
      const head = openCheckpoint(await (await fetch(`${url}/checkpoint`)).text(), vkey).checkpoint;
      // The new head extends every checkpoint handed out before.
      for (const cp of checkpoints.values()) {
        expect(cp.size).toBeLessThanOrEqual(head.size);
        if (cp.size === 0) continue;
        const p = (await (await fetch(`${url}/v1/log/proof/consistency?first=${cp.size}&second=${head.size}`)).json()) as { consistency_path: string[] };
        verifyConsistency(cp.size, head.size, p.consistency_path.map(fromBase64), cp.rootHash, head.rootHash);
      }
      for (const r of receipted) {
        // The envelope is held: the same bytes again are a duplicate, with the original receipt.
        const again = await post(`${url}/v1/submit`, r.body);
        expect(again.status).toBe(200);
        expect(again.body).toEqual({ index: r.index, receipt: r.receipt, duplicate: true });
        // Its leaf is in the log at its index, under the new head.
        const v = verifyReceipt(r.receipt, vkey, { type: 'submit', digest: r.env.digest });
        const entries = (await (await fetch(`${url}/v1/log/entries?start=${r.index}&end=${r.index + 1}`)).json()) as { entries: string[] };
        expect(equalBytes(fromBase64(entries.entries[0]!), commitLeaf(v.opening))).toBe(true);
        const inc = (await (await fetch(`${url}/v1/log/proof/inclusion?leaf_index=${r.index}&tree_size=${head.size}`)).json()) as { inclusion_path: string[] };
        verifyInclusion(hashLeaf(v.leaf), r.index, head.size, inc.inclusion_path.map(fromBase64), head.rootHash);
      }
    }
  });
});
