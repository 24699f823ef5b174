/**
 * @backchannel/relay — the intermediary's server: mandate, durable store-and-forward,
 * receipts, and a public transparency log (SQLite by default, PostgreSQL for production).
 * docs/relay-api.md is the contract. Explicit named exports only: this list is the public API.
 */
export { startRelay } from './start-relay.js';
export { addPartyToMandate, initRelayDatabase } from './database.js';
export { DEFAULT_LIMITS, type MandateEntry, type RelayLimits, type RelayOptions, type RunningRelay } from './options.js';
export { RELAY_ERROR_CODES, RelayError, isRelayError, type RelayErrorCode } from './errors.js';
export { Witness, TLOG_SIZE_CONTENT_TYPE, type WitnessConfig, type WitnessResponse, type WitnessStore, type WitnessedLog } from './witness/witness.js';
export { KyselyWitnessStore, openWitnessStore } from './witness/witness-store.js';
export { registerWitnessRoute, ADD_CHECKPOINT_BODY_BYTES } from './witness/witness-route.js';
export type { StatementConsent, StatementPolicy } from './mandate/mandate.js';
export { MAX_STATEMENT_RECORDS, produceStatement, statementFromStore, type ProducedStatement, type StatementRequest } from './statements/produce.js';
export type {
  AdminCheckpoint,
  AdminCosignature,
  AdminDelivery,
  AdminEvent,
  AdminLog,
  AdminMandate,
  AdminOverview,
  AdminParty,
  AdminPending,
  AdminStatement,
  AdminStatements,
  AdminTraffic,
  AdminTrafficRow,
} from './admin/types.js';
export type { AdminListen } from './admin/admin-server.js';
