/**
 * One relay of the demo, in a process of its own: `node --import tsx relay-runner.ts CONFIG.json`.
 * Reads its options from the JSON file the demo wrote (keys as hex seeds, in the demo's private
 * temporary folder), calls `startRelay`, and tells the parent over the IPC channel when it
 * listens. The parent may ask it, as the relay's operator, for a transmission statement
 * (`produceStatement` on its own database, with its own log key: the key never leaves this
 * process but for the rogue proxy's copy the story stages). It exits on SIGTERM/SIGINT, or
 * when the parent goes away (the IPC channel closes), so no relay outlives its demo.
 */
import { readFileSync } from 'node:fs';
import { Ed25519Key, fromHex, parsePartyCard, parseVkey, toBase64, type PartyCardJson, type RelayCardJson } from '@backchannel/core';
import { produceStatement, startRelay, type RunningRelay } from '@backchannel/relay';
import type { RunnerConfig, RunnerReply, RunnerRequest } from './runner-protocol.js';

function reply(m: RunnerReply): void {
  if (process.send !== undefined) process.send(m);
}

async function main(): Promise<void> {
  const path = process.argv[2];
  if (path === undefined) throw new Error('usage: relay-runner CONFIG.json');
  const c = JSON.parse(readFileSync(path, 'utf8')) as RunnerConfig;
  const logKey = Ed25519Key.fromSeed(fromHex(c.logSeed));
  const held: { relay?: RunningRelay } = {};
  let stopping = false;
  const stop = (code: number): void => {
    if (stopping) return;
    stopping = true;
    const done = (): never => process.exit(code);
    const timer = setTimeout(done, 3000);
    timer.unref();
    (held.relay?.close() ?? Promise.resolve()).then(done, done);
  };
  process.on('SIGTERM', () => {
    stop(0);
  });
  process.on('SIGINT', () => {
    stop(0);
  });
  process.on('disconnect', () => {
    stop(0);
  });

  const relay = await startRelay({
    id: c.id,
    name: c.name,
    url: c.url,
    origin: c.origin,
    logKey,
    card: c.card as RelayCardJson,
    db: c.db,
    listen: { host: '127.0.0.1', port: c.port },
    mandate: c.mandate.map((card) => ({ card: parsePartyCard(card as PartyCardJson) })),
    ...(c.witness === undefined
      ? {}
      : { witness: { key: Ed25519Key.fromSeed(fromHex(c.witness.seed)), name: c.witness.name, logs: c.witness.logs.map((v) => parseVkey(v)) } }),
    ...(c.witnesses === undefined ? {} : { witnesses: c.witnesses.map((w) => ({ url: w.url, vkey: parseVkey(w.vkey) })) }),
  });
  held.relay = relay;
  process.on('message', (raw: unknown) => {
    const m = raw as Partial<RunnerRequest>;
    if (m.type !== 'statement' || m.ref === undefined || m.pair === undefined || m.since === undefined || m.until === undefined) return;
    const ref = m.ref;
    produceStatement(c.db, logKey, { origin: c.origin, pair: m.pair, since: m.since, until: m.until }).then(
      (s) => {
        reply({ type: 'statement', ref, bytes: toBase64(s.bytes), count: s.count, size: s.size, cosignatures: s.cosignatures });
      },
      (e: unknown) => {
        reply({ type: 'error', ref, message: e instanceof Error ? e.message : String(e) });
      },
    );
  });
  reply({ type: 'ready', pid: process.pid, url: relay.url, port: relay.port });
}

main().catch((e: unknown) => {
  reply({ type: 'failed', message: e instanceof Error ? e.message : String(e) });
  process.stderr.write(`relay-runner: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
