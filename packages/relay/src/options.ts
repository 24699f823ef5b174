/**
 * What `startRelay` takes (docs/relay-api.md, "Programmatic entry point") and the limits that
 * bound what any one client can make the relay do.
 */
import type { Ed25519Key, PartyCard, RelayCardJson, Vkey } from '@backchannel/core';
import type { Logger } from 'pino';
import type { AdminListen } from './admin/admin-server.js';

export interface RelayLimits {
  /** Largest request body in bytes, for /v1/submit (an envelope of 4 MiB plus its token and framing). */
  submitBodyBytes: number;
  /** Largest body for every other route. */
  bodyBytes: number;
  /** Requests per IP per window, before anything is parsed (the flood gate). */
  ipRequestsPerWindow: number;
  /** Submissions and signed requests per station per window, after its signature verified. */
  stationRequestsPerWindow: number;
  /** The rate-limit window in ms. */
  rateWindowMs: number;
  /** Most records integrated in one group commit. */
  batchSize: number;
  /** Most envelope bytes in one group commit. */
  batchBytes: number;
  /** Most records waiting for a commit; beyond it submissions are refused with 503. */
  queueDepth: number;
  /** How long an envelope every enrolled desk has fetched is kept, ms. */
  retentionMs: number;
  /** How long ids are remembered after their envelope is deleted, ms (at least the 24 h token window). */
  tombstoneMs: number;
  /** A client that has not sent its whole request after this long is cut off, ms. */
  requestTimeoutMs: number;
  /** Most envelope bytes in one fetch page or push pass (the first envelope always goes). */
  fetchPageBytes: number;
  /** Bytes a push connection may leave unsent before it is dropped as a slow consumer. */
  pushBufferBytes: number;
  /** Most open push connections. */
  pushConnections: number;
  /** Ping interval on push connections, ms. */
  pushPingMs: number;
  /** Checkpoints are re-published (re-read, never re-signed differently) on this interval, ms. */
  housekeepingMs: number;
}

export const DEFAULT_LIMITS: RelayLimits = {
  submitBodyBytes: 4 * 1024 * 1024 + 8 * 1024,
  bodyBytes: 1024 * 1024,
  ipRequestsPerWindow: 6000,
  stationRequestsPerWindow: 3000,
  rateWindowMs: 60_000,
  batchSize: 256,
  batchBytes: 32 * 1024 * 1024,
  queueDepth: 4096,
  retentionMs: 7 * 86_400_000,
  tombstoneMs: 2 * 86_400_000,
  requestTimeoutMs: 30_000,
  fetchPageBytes: 16 * 1024 * 1024,
  pushBufferBytes: 8 * 1024 * 1024,
  pushConnections: 1000,
  pushPingMs: 15_000,
  housekeepingMs: 10_000,
};

/** A party to add to the mandate at start (the CLI's `trust` writes the same to the store). */
export interface MandateEntry {
  card: PartyCard;
  /** Parties this one may exchange envelopes with; undefined: any party of the mandate. */
  allow?: string[];
  /**
   * Statements about the party: true consents to opening precedence and digest, false (the
   * default) allows counts only, 'forbid' refuses statements about it.
   */
  statements?: boolean | 'forbid';
}

export interface RelayOptions {
  id: string;
  name: string;
  url: string;
  /** The log origin: the checkpoint origin and the key name of the card's vkey. */
  origin: string;
  /** The log key, decrypted by the caller. */
  logKey: Ed25519Key;
  card: RelayCardJson;
  /** 'sqlite:<path>' or 'postgres://…' */
  db: string;
  /** port 0: an ephemeral port (tests). */
  listen: { host: string; port: number };
  /**
   * Serve HTTPS with this certificate and key (PEM). For production; security never rests on
   * it — everything stations and verifiers rely on is signed — but it hides metadata in transit.
   */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Parties to add to the mandate held in the store before serving. */
  mandate?: readonly MandateEntry[];
  /** Injected for tests; ms since the epoch. */
  clock?: () => number;
  logger?: Logger;
  limits?: Partial<RelayLimits>;
  /**
   * Also verify the station signature of every submitted envelope, not only its submission
   * token (default false; docs/relay-api.md, "POST /v1/submit"). The token is the same
   * station's signature over the envelope's digest, so it already binds the station to these
   * exact bytes and a recipient blames a bad envelope signature on the sender, not the relay;
   * the second check only refuses a faulty station's envelope earlier, at a second Ed25519
   * verification per submission.
   */
  verifyEnvelopeSignature?: boolean;
  /**
   * Also act as a C2SP tlog-witness for other logs (POST /witness/add-checkpoint), cosigning
   * with `key` — a key of its own, never the log key — under `name`, for the logs whose
   * vkeys (type 0x01, key name = origin) are in `logs`.
   */
  witness?: { key: Ed25519Key; name: string; logs: Vkey[] };
  /** Witnesses to submit each new checkpoint to: `url` is the submission prefix, `vkey` the cosigning key (type 0x04). */
  witnesses?: { url: string; vkey: Vkey }[];
  /**
   * Serve the operator console (metadata only) on a listener of its own: loopback unless
   * `allowNonLoopback`, never the public API's address. Absent: no admin listener.
   */
  adminListen?: AdminListen;
}

export interface RunningRelay {
  url: string;
  port: number;
  /** The admin listener, when `adminListen` was given: its URL and the console's login token. */
  admin?: { url: string; port: number; token: string };
  close(): Promise<void>;
}
