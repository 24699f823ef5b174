/**
 * The relay operator's admin API (`/api/…` on the admin listener, never on the public one):
 * the typed responses the operator console reads. Metadata only, by construction: no type
 * here has a field for a subject, a body, an envelope's bytes, its ciphertext or its
 * submission token. What the relay knows of an envelope is its clear header (sender and
 * recipient party, precedence, size bucket) and when it arrived (DESIGN.md, "The envelope").
 */
import type { Precedence } from '@backchannel/core';

/** A witness cosignature on one of this relay's checkpoints. */
export interface AdminCosignature {
  /** The checkpoint (tree size) it cosigns. */
  size: number;
  /** The witness's name: the key name of its verifier key. */
  witness: string;
  /** The witness's verifier key, C2SP text form. */
  vkey: string;
}

export interface AdminCheckpoint {
  size: number;
  /** Root hash, lowercase hex. */
  root: string;
  /** When the relay signed it, ms since the epoch. */
  signedAt: number;
  cosignatures: AdminCosignature[];
}

export interface AdminPending {
  /** The recipient party. */
  party: string;
  /** Envelopes to it that no desk of it has acknowledged yet. */
  envelopes: number;
  /** When the oldest of them arrived, ms since the epoch. */
  oldestReceived: number;
}

export interface AdminDelivery {
  /** Delivery lags (arrival to the first delivery record of a recipient desk) over envelopes received since this time. */
  since: number;
  samples: number;
  /** Median lag, ms; null without samples. */
  p50Ms: number | null;
  /** 99th percentile lag (nearest rank), ms; null without samples. */
  p99Ms: number | null;
  /** Age of the oldest envelope no recipient desk has acknowledged, ms; null when none waits. */
  oldestUndeliveredMs: number | null;
}

export interface AdminOverview {
  relay: { id: string; name: string; origin: string; url: string; fingerprint: string };
  /** The relay's clock when this was computed, ms since the epoch. */
  now: number;
  startedAt: number;
  uptimeMs: number;
  log: {
    size: number;
    /** The latest checkpoint as published (C2SP signed note, with the cosignatures collected on it). */
    checkpoint: string;
    checkpointSize: number;
    checkpointSignedAt: number;
    cosignatures: AdminCosignature[];
  };
  /** Witnesses this relay submits its checkpoints to. */
  witnesses: { name: string; vkey: string }[];
  /** Records waiting for a group commit. */
  queueDepth: number;
  pending: AdminPending[];
  delivery: AdminDelivery;
  /** Envelopes held (not yet past retention) and the oldest arrival among them. */
  held: { envelopes: number; oldestReceived: number | null };
}

export type AdminStatementPolicy = 'forbid' | 'count' | 'open';

export interface AdminParty {
  id: string;
  name: string;
  /** The party's fingerprint, 60 digits in groups of 5. */
  fingerprint: string;
  /** Sequence number of the newest key bundle the relay holds. */
  bundleSeq: number;
  /** Enrolled desks (station keys) in that bundle. */
  desks: number;
  /** The parties this one may exchange envelopes with, as configured; null: any party of the mandate. */
  allow: string[] | null;
  /** Statement consent: forbidden, counts only, or opening precedence and digest too. */
  statements: AdminStatementPolicy;
  updated: number;
}

export interface AdminMandate {
  parties: AdminParty[];
  /** Every pair the mandate carries envelopes between (both sides allow the other), a < b. */
  pairs: { a: string; b: string }[];
}

export interface AdminTrafficRow {
  /** Start of the time bucket, ms since the epoch (a multiple of bucketMs). */
  bucket: number;
  from: string;
  to: string;
  precedence: Precedence;
  envelopes: number;
  /** Sum of the envelopes' size buckets, as their clear headers state. */
  bytes: number;
}

export interface AdminTraffic {
  since: number;
  until: number;
  bucketMs: number;
  rows: AdminTrafficRow[];
  /**
   * Envelopes are deleted once every desk fetched them and retention ran: the relay counts only
   * what it still holds. This is the oldest arrival it holds (null: none).
   */
  heldSince: number | null;
}

export interface AdminLog {
  size: number;
  checkpoint: string;
  /** The most recent checkpoints, newest first. */
  checkpoints: AdminCheckpoint[];
  witnesses: { name: string; vkey: string; lastCosignedSize: number | null }[];
}

export interface AdminStatement {
  /** SHA-256 of the Signed statement bytes, lowercase hex: the statement's identity. */
  digest: string;
  issued: number;
  pair: [string, string];
  since: number;
  until: number;
  count: number;
  /** The checkpoint size its inclusion proofs are against, and the cosignatures on it. */
  checkpointSize: number;
  cosignatures: number;
  opened: { precedence: boolean; digest: boolean };
  /** 'operator' (the CLI or this console) or the party whose desk asked (GET /v1/statement). */
  requestedBy: string;
}

export interface AdminStatements {
  statements: AdminStatement[];
}

/** Server-sent events on GET /api/events. */
export type AdminEvent = { type: 'overview'; data: AdminOverview } | { type: 'traffic'; data: AdminTraffic };
