/**
 * NATS JetStream as a peer: a private nats-server (its own port and a temporary file store),
 * one stream on file storage, 2 KiB messages. Durable publish with the ack awaited one at a
 * time and with 100 in flight; throughput through a durable consumer (publisher and consumer
 * running together); latency one at a time from publish to the durable consumer's delivery.
 * JetStream acknowledges before fsync (it syncs every 2 minutes by default): not durable in
 * our sense, which the report says.
 */
import { AckPolicy, StorageType, jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { concurrentFor, emptyReport, fmtNum, summarize, wallMs, type BenchOptions, type PartReport } from '../lib.js';
import { findExecutable, freePort, onCleanup, startChild, tempDir, waitUntil } from '../support/procs.js';

export const NATS_PATHS = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'];

export async function runNats(opts: BenchOptions, payloadBytes: number): Promise<PartReport> {
  const r = emptyReport();
  const bin = findExecutable(NATS_PATHS);
  if (bin === undefined) {
    r.notes.push('NATS skipped: nats-server not found (install it with `apt-get install nats-server`).');
    return r;
  }
  const ms = opts.quick ? 1500 : 5000;
  const dir = tempDir('bc-bench-nats-');
  const port = await freePort();
  const server = startChild(bin, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir]);
  await waitUntil('nats-server to be ready', () => server.output().includes('Server is ready'), 15_000);
  const version = /Version:\s+(\S+)/.exec(server.output())?.[1] ?? 'unknown';

  const nc = await connect({ servers: `127.0.0.1:${port}` });
  onCleanup(() => nc.close());
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'BENCH', subjects: ['bench.>'], storage: StorageType.File });
  const js = jetstream(nc);
  const payload = new Uint8Array(payloadBytes).fill(0x61);

  const p1 = await concurrentFor(ms, 200_000, 1, () => js.publish('bench.pub', payload));
  const p100 = await concurrentFor(ms, 2_000_000, 100, () => js.publish('bench.pub', payload));
  r.metrics['peer.nats.publish1'] = p1.ops / p1.seconds;
  r.metrics['peer.nats.publish100'] = p100.ops / p100.seconds;

  // Through a durable consumer: publish with 100 in flight while the consumer drains.
  await jsm.consumers.add('BENCH', { durable_name: 'thr', ack_policy: AckPolicy.Explicit, filter_subject: 'bench.thr' });
  const thr = await (await js.consumers.get('BENCH', 'thr')).consume({ max_messages: 1000 });
  let received = 0;
  let lastAt = 0;
  const draining = (async () => {
    for await (const m of thr) {
      m.ack();
      received++;
      lastAt = performance.now();
    }
  })();
  const t0 = performance.now();
  const sent = await concurrentFor(ms, 2_000_000, 100, () => js.publish('bench.thr', payload));
  await waitUntil('the durable consumer to drain', () => received >= sent.ops, 60_000);
  r.metrics['peer.nats.consumer'] = received / ((lastAt - t0) / 1000);
  await thr.close();
  await draining;

  // One at a time: publish (ack awaited), then wait for the consumer's delivery.
  await jsm.consumers.add('BENCH', { durable_name: 'lat', ack_policy: AckPolicy.Explicit, filter_subject: 'bench.lat' });
  const lat = await (await js.consumers.get('BENCH', 'lat')).consume({ max_messages: 100 });
  let waiter: ((m: JsMsg) => void) | undefined;
  const delivering = (async () => {
    for await (const m of lat) {
      m.ack();
      waiter?.(m);
    }
  })();
  const samples: number[] = [];
  const latEnd = performance.now() + ms;
  while (performance.now() < latEnd && samples.length < 50_000) {
    const got = new Promise<JsMsg>((resolve) => (waiter = resolve));
    const s = wallMs();
    await js.publish('bench.lat', payload);
    await got;
    samples.push(wallMs() - s);
  }
  await lat.close();
  await delivering;
  const l = summarize(samples);
  r.metrics['peer.nats.latency.p50'] = l.p50;
  r.metrics['peer.nats.latency.p99'] = l.p99;
  r.metrics['peer.nats.latency.p999'] = l.p999;
  await nc.drain();
  await server.stop();

  r.tables.push({
    title: `NATS JetStream ${version} (file store, acknowledged before fsync)`,
    columns: ['measure', 'value', 'count'],
    rows: [
      ['durable publish, ack awaited (msg/s)', fmtNum(r.metrics['peer.nats.publish1']), p1.ops],
      ['durable publish, 100 in flight (msg/s)', fmtNum(r.metrics['peer.nats.publish100']), p100.ops],
      ['through a durable consumer, 100 in flight (msg/s)', fmtNum(r.metrics['peer.nats.consumer']), received],
      ['publish → consumer, one at a time: p50 / p99 / p99.9 (ms)', `${fmtNum(l.p50)} / ${fmtNum(l.p99)} / ${fmtNum(l.p999)}`, l.n],
    ],
  });
  return r;
}
