/**
 * Assembles a relay around an opened store: the mandate, the log manager (group commit), the
 * push hub, the HTTP app and the housekeeping timer. startRelay (start-relay.ts) puts it on a
 * socket; tests build it in process, with a real store, and drive `app.inject`.
 */
import { equalBytes, parseRelayCard, type Ed25519Key, type Random, type RelayCardJson } from '@backchannel/core';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ApiCatalog } from './app/api-catalog.js';
import { buildApp } from './app/build-app.js';
import type { RelayContext } from './app/context.js';
import { StationRateLimiter } from './app/station-rate-limit.js';
import { RelayError } from './errors.js';
import { runHousekeeping } from './housekeeping.js';
import { LogManager } from './log/log-manager.js';
import { Mandate } from './mandate/mandate.js';
import { RelayMetrics } from './metrics.js';
import type { RelayLimits } from './options.js';
import { PushHub } from './push/push-hub.js';
import type { RelayStore } from './store/relay-store.js';
import { CheckpointPublisher, type WitnessTarget } from './witness/publisher.js';
import { sharedVerifyPool } from './verify/ed25519-pool.js';
import { Witness, type WitnessConfig } from './witness/witness.js';

export interface RelayDeps {
  id: string;
  origin: string;
  logKey: Ed25519Key;
  card: RelayCardJson;
  store: RelayStore;
  clock: () => number;
  logger: Logger;
  limits: RelayLimits;
  /** RelayOptions.verifyEnvelopeSignature. */
  verifyEnvelopeSignature?: boolean;
  random?: Random;
  defaultMetrics?: boolean;
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Witness other logs: POST /witness/add-checkpoint under this cosigning key. */
  witness?: WitnessConfig;
  /** Witnesses this relay submits its checkpoints to. */
  witnesses?: readonly WitnessTarget[];
}

export interface Relay {
  app: FastifyInstance;
  catalog: ApiCatalog;
  /** Every route Fastify registered ("METHOD /url"), HEAD aside. */
  registered: string[];
  ctx: RelayContext;
  /** Stops serving, lets in-flight commits finish; the store is the caller's to close. */
  close(): Promise<void>;
}

/** The card must be this relay's: same id and origin, and its vkey the log key's. */
function checkCard(d: RelayDeps): ReturnType<typeof parseRelayCard> {
  let card;
  try {
    card = parseRelayCard(d.card);
  } catch (cause) {
    throw new RelayError('config_invalid', 'the relay card does not verify', { cause });
  }
  const problems: string[] = [];
  if (card.id !== d.id) problems.push(`card id ${card.id} is not the relay id ${d.id}`);
  if (card.origin !== d.origin) problems.push('card origin is not the log origin');
  if (!equalBytes(card.vkey.publicKey, d.logKey.publicKey)) problems.push('card vkey is not the log key');
  if (problems.length > 0) throw new RelayError('config_invalid', `the relay card is not this relay's: ${problems.join('; ')}`, { details: { problems } });
  return card;
}

export async function createRelay(d: RelayDeps): Promise<Relay> {
  const card = checkCard(d);
  const metrics = new RelayMetrics({ defaultMetrics: d.defaultMetrics ?? false });
  const mandate = new Mandate(d.store, d.clock);
  await mandate.load();
  const push = new PushHub({
    store: d.store,
    clock: d.clock,
    metrics,
    logger: d.logger,
    bufferBytes: d.limits.pushBufferBytes,
    pageBytes: d.limits.fetchPageBytes,
    maxConnections: d.limits.pushConnections,
    pingMs: d.limits.pushPingMs,
  });
  if (d.witness !== undefined && equalBytes(d.witness.key.publicKey, d.logKey.publicKey)) {
    throw new RelayError('config_invalid', 'the witness cosigning key must not be the log key');
  }
  // Built once the log is open; the log's commit callback reaches it through this holder.
  const witnessing: { publisher?: CheckpointPublisher } = {};
  const log = await LogManager.open({
    store: d.store,
    logKey: d.logKey,
    origin: d.origin,
    clock: d.clock,
    ...(d.random === undefined ? {} : { random: d.random }),
    batchSize: d.limits.batchSize,
    batchBytes: d.limits.batchBytes,
    queueDepth: d.limits.queueDepth,
    onCommitted: (records) => {
      push.notify(records);
      witnessing.publisher?.kick();
    },
    planAssignments: (envelopes, now) => push.plan(envelopes, now),
    // Off the event loop when the pool is busy; alone, at once on this thread (no hand-off).
    leaves: (openings) => sharedVerifyPool().leaves(openings, { inlineWhenIdle: true }),
    onCommitFailed: () => {
      push.commitFailed();
    },
    observer: {
      batchCommitted: (info) => {
        metrics.commitSeconds.observe(info.ms / 1000);
        metrics.batchRecords.observe(info.records);
        metrics.logSize.set(info.size);
      },
      queueDepth: (n) => {
        metrics.queueDepth.set(n);
      },
    },
  });
  metrics.logSize.set(log.size);
  const publisher = new CheckpointPublisher({ store: d.store, log, witnesses: d.witnesses ?? [], logger: d.logger, clock: d.clock });
  await publisher.load();
  witnessing.publisher = publisher;
  const ctx: RelayContext = {
    publisher,
    witness: d.witness === undefined ? undefined : new Witness(d.witness, d.store.witnessStore(), d.clock),
    id: d.id,
    origin: d.origin,
    logKey: d.logKey,
    vkey: card.vkey,
    card: d.card,
    store: d.store,
    log,
    mandate,
    clock: d.clock,
    limits: d.limits,
    verifyEnvelopeSignature: d.verifyEnvelopeSignature ?? false,
    metrics,
    push,
    stationLimiter: new StationRateLimiter(d.limits.stationRequestsPerWindow, d.limits.rateWindowMs, d.clock),
    logger: d.logger,
  };
  const { app, catalog, registered } = await buildApp(ctx, d.tls === undefined ? {} : { tls: d.tls });
  publisher.kick();
  let sweeping = false;
  const timer = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    runHousekeeping(ctx)
      .catch((err: unknown) => {
        d.logger.warn({ err }, 'housekeeping failed');
      })
      .finally(() => {
        sweeping = false;
      });
  }, d.limits.housekeepingMs);
  timer.unref();
  let closing: Promise<void> | undefined;
  return {
    app,
    catalog,
    registered,
    ctx,
    close: () =>
      (closing ??= (async () => {
        clearInterval(timer);
        push.close();
        await app.close();
        await log.close();
        await publisher.close();
      })()),
  };
}
