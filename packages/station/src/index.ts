/**
 * @backchannel/station — a party's desk as a library: the `Station` class, its store, its relay
 * client, and the types of what it reports. The CLI and the station daemon are built on it.
 *
 * Explicit named exports only: this list is the public API.
 */
export { Station, type StationOptions, type PartyView, type BundleShare } from './station.js';
export type { StationKeys } from './keys.js';
export { systemClock, sleep, type Clock } from './clock.js';
export { DEFAULT_POLICY, makePolicy, objectiveMs, planChannels, type ChannelCount, type Policy, type PrecedenceRule } from './policy.js';
export { STATION_ERROR_CODES, StationError, codeOf, describeFailure, isStationError, type AnyStationCode, type StationErrorCode } from './errors.js';

export { decodeGossip, encodeGossip, type GossipItem, type GossipReport } from './gossip.js';
export { NO_WITNESS_POLICY, checkQuorum, makeWitnessPolicy, type QuorumCheck, type WitnessPolicy } from './witness-policy.js';

// What the station reports
export type { SendRequest, SendResult } from './send.js';
export type { SyncReport, SyncOptions, SyncProgress } from './sync.js';
export type { ReceivedEntry } from './receive-copy.js';
export type { AckSent } from './end-to-end-ack.js';
export type { DeadlineReport } from './deadlines.js';
export type { InstallKeys, KeyMaterial, KeyShareResult, ReceivedKeys } from './key-share.js';
export { DEFAULT_ROTATION_WARN_DAYS, supersededKeys, type RotationCheck } from './key-rotation.js';
export type { VerifyReport, RelayVerification, VerifyOptions, VerifyProgress } from './verify-logs.js';
export type { PinResult, RelayPinResult } from './trust.js';
export type { AttributionView, ChannelHealthView, ChannelView, CopyView, InboxEntry, NoteStatus, NoteView, ThreadView, TimelineEvent } from './views.js';
export { ALERT_KINDS, type Alert, type AlertKind, type Evidence, type EvidenceValue, type NoteRefHex } from './store/types.js';

// Watching (push)
export { Watch, connectPushWs, ACK_BURST_MS, type ConnectPush, type WatchEvent } from './watch.js';
export { openPush, type PushConnection, type PushHandlers, type PushOptions } from './push-client.js';

// Relays
export { HttpRelayClient, type HttpRelayClientOptions, type RelayApi } from './relay-client.js';
export type { AckRecord, DeliveryItem, FetchItem, Page, PushFrame, SubmitAnswer } from './relay-wire.js';
export { connectHttp, type ConnectRelay } from './desk.js';

// Merging, for tools that inspect archives
export { decideMerge, isConsistent, type MergeInput, type MergeOutcome } from './merge.js';

// Thread archives (issue 7): export, offline verification, HTML rendering
export {
  ARCHIVE_TYPE,
  ARCHIVE_VERSION,
  decodeArchive,
  escapeHtml,
  exportThreadArchive,
  renderArchiveHtml,
  verifyArchive,
  type ArchiveBody,
  type ArchiveCopy,
  type ArchiveNote,
  type ArchiveReport,
} from './archive.js';

// The store, for tools and tests
export type { StationStore, NoteFilter } from './store/store.js';
export { openSqliteStore, migrate, type OpenStoreOptions, SqliteStationStore } from './store/sqlite-store.js';
export { MIGRATIONS } from './store/migrations.js';
