/** Everything a route handler needs, built once per relay (relay.ts) and passed to each route file. */
import type { Ed25519Key, RelayCardJson, Vkey } from '@backchannel/core';
import type { Logger } from 'pino';
import type { LogManager } from '../log/log-manager.js';
import type { Mandate } from '../mandate/mandate.js';
import type { RelayMetrics } from '../metrics.js';
import type { RelayLimits } from '../options.js';
import type { RelayStore } from '../store/relay-store.js';
import type { PushHub } from '../push/push-hub.js';
import type { StationRateLimiter } from './station-rate-limit.js';
import type { CheckpointPublisher } from '../witness/publisher.js';
import type { Witness } from '../witness/witness.js';

export interface RelayContext {
  id: string;
  origin: string;
  logKey: Ed25519Key;
  vkey: Vkey;
  card: RelayCardJson;
  store: RelayStore;
  log: LogManager;
  mandate: Mandate;
  clock: () => number;
  limits: RelayLimits;
  /** Verify the envelope's station signature on submission besides the token (RelayOptions). */
  verifyEnvelopeSignature: boolean;
  metrics: RelayMetrics;
  push: PushHub;
  stationLimiter: StationRateLimiter;
  logger: Logger;
  /** Witness cosignatures on this relay's checkpoints. */
  publisher: CheckpointPublisher;
  /** The witness this relay runs for other logs, if configured. */
  witness: Witness | undefined;
}
