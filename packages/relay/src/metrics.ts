/**
 * Prometheus metrics (GET /metrics): accepted, delivered, acknowledged, rejected by reason,
 * latencies, log size and queue depth. One registry per relay, so several relays in one
 * process (tests, the demo) do not share counters. Labels carry codes and route patterns only,
 * never party ids from requests or anything else a client chooses freely.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class RelayMetrics {
  readonly registry = new Registry();
  readonly accepted: Counter;
  readonly duplicates: Counter;
  readonly delivered: Counter;
  readonly acked: Counter;
  readonly rejected: Counter<'reason'>;
  readonly requestSeconds: Histogram<'route' | 'method' | 'status'>;
  readonly commitSeconds: Histogram;
  readonly batchRecords: Histogram;
  readonly logSize: Gauge;
  readonly queueDepth: Gauge;
  readonly pushConnections: Gauge;
  readonly slowConsumers: Counter;
  readonly assignedInCommit: Counter;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.accepted = new Counter({ name: 'backchannel_relay_envelopes_accepted_total', help: 'Envelopes accepted and logged', registers });
    this.duplicates = new Counter({ name: 'backchannel_relay_envelopes_duplicate_total', help: 'Resubmissions answered with the original receipt', registers });
    this.delivered = new Counter({ name: 'backchannel_relay_envelopes_delivered_total', help: 'Envelope copies handed to desks (pull and push)', registers });
    this.acked = new Counter({ name: 'backchannel_relay_copies_acked_total', help: 'Copy acknowledgements answered with a delivery record', registers });
    this.rejected = new Counter({ name: 'backchannel_relay_rejected_total', help: 'Refused requests, by error code', labelNames: ['reason'], registers });
    this.requestSeconds = new Histogram({
      name: 'backchannel_relay_request_seconds',
      help: 'Request latency by route pattern',
      labelNames: ['route', 'method', 'status'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.commitSeconds = new Histogram({
      name: 'backchannel_relay_commit_seconds',
      help: 'Group commit latency: dedupe, append, sign, write, fsync',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    this.batchRecords = new Histogram({ name: 'backchannel_relay_batch_records', help: 'Records per group commit', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512], registers });
    this.logSize = new Gauge({ name: 'backchannel_relay_log_size', help: 'Leaves in the transparency log', registers });
    this.queueDepth = new Gauge({ name: 'backchannel_relay_queue_depth', help: 'Records waiting for a group commit', registers });
    this.pushConnections = new Gauge({ name: 'backchannel_relay_push_connections', help: 'Open push connections', registers });
    this.slowConsumers = new Counter({ name: 'backchannel_relay_push_slow_consumers_total', help: 'Push connections dropped for not reading', registers });
    this.assignedInCommit = new Counter({
      name: 'backchannel_relay_push_assigned_in_commit_total',
      help: 'Envelope copies pushed to caught-up desks as assigned in the group commit itself (no fetch transaction of their own)',
      registers,
    });
    if (options.defaultMetrics === true) collectDefaultMetrics({ register: this.registry });
  }
}
