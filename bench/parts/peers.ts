/**
 * Part 6, the peers in the same run and with the same 2 KiB payload: Prosody (XMPP over TLS),
 * NATS JetStream, Postfix. Each peer is started privately (its own ports, a temporary folder),
 * measured, and stopped — also when it fails; a missing peer is skipped with the line that
 * installs it, and a failing peer is reported without stopping the others.
 */
import { emptyReport, type BenchOptions, type PartReport } from '../lib.js';
import { runCleanups } from '../support/procs.js';

export const PAYLOAD_BYTES = 2048;

export async function run(opts: BenchOptions): Promise<PartReport> {
  const r = emptyReport();
  const peers: [string, () => Promise<PartReport>][] = [
    ['Prosody', async () => (await import('../peers/prosody.js')).runProsody(opts, PAYLOAD_BYTES)],
    ['NATS JetStream', async () => (await import('../peers/nats.js')).runNats(opts, PAYLOAD_BYTES)],
    ['Postfix', async () => (await import('../peers/postfix.js')).runPostfix(opts, PAYLOAD_BYTES)],
  ];
  for (const [name, fn] of peers) {
    process.stderr.write(`  ${name} …\n`);
    try {
      const p = await fn();
      r.tables.push(...p.tables);
      Object.assign(r.metrics, p.metrics);
      r.notes.push(...p.notes);
    } catch (e) {
      r.notes.push(`${name} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    // Stop this peer before the next one starts, so they never share the cores.
    for (const c of await runCleanups()) r.notes.push(`${name} cleanup: ${c}`);
  }
  return r;
}
