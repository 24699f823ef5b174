/**
 * The log manager: group commit (DESIGN.md, "Submitting, receipts, the log").
 *
 * Submissions and acknowledgements queue here. Whenever the queue is not empty, one flush takes
 * every pending record (up to a bound), dedupes it against the store, appends the new leaves,
 * signs ONE checkpoint for the batch, computes every receipt, and writes all of it in ONE
 * transaction. Only after `commitBatch` has returned are the waiting requests answered: no
 * receipt leaves before its commit. Records that arrive while a commit runs form the next
 * batch, so there is no merge delay and one signature per batch, not per envelope.
 *
 * Every proof a batch needs is computed in memory: the inclusion path of a leaf appended after
 * size s uses only nodes of the old frontier (left siblings of a path that crosses s are the
 * frontier's perfect subtrees) and nodes the batch completed. The store stays the truth: after
 * any failed commit the head is reloaded from it.
 */
import {
  appendLeaves,
  commitLeaf,
  consistencyNodes,
  deriveVkey,
  EMPTY_FRONTIER,
  emptyRoot,
  equalBytes,
  frontierFromHashes,
  frontierNodeIds,
  hashLeaf,
  inclusionNodes,
  openCheckpoint,
  precedenceCode,
  rehashProof,
  rootOf,
  sha256,
  signCheckpoint,
  signDeliveryRecord,
  systemRandom,
  toHex,
  verifyConsistency,
  formatReceipt,
  type CompletedNode,
  type Ed25519Key,
  type Frontier,
  type InspectedEnvelope,
  type LeafOpening,
  type NodeId,
  type Random,
  type SubmissionToken,
} from '@backchannel/core';
import { RelayError } from '../errors.js';
import type { CommitBatch, DeliveredCopy, DeskAssignment, Equivocation, KnownEnvelope, NewDelivery, NewEnvelope, RelayStore, StoredCheckpoint, StoredDelivery } from '../store/relay-store.js';

/** Thrown inside a commit whose batch the store refused as known, to build it again after asking. */
const REFUSED_AS_KNOWN = new Error('refused as known');
/** How many batches after a refusal are built after asking the store first (LogManager #readFirst). */
const READ_FIRST_AFTER_REFUSAL = 32;

export interface PendingSubmission {
  envelope: InspectedEnvelope;
  token: SubmissionToken;
  /** Relay time the submission arrived: the record's time in its leaf. */
  received: number;
}

export interface SubmitOutcome {
  index: number;
  receipt: string;
  duplicate: boolean;
}

export interface DeliveryOutcome {
  index: number;
  record: Uint8Array;
  receipt: string;
}

/** What a commit added, for push delivery. */
export interface CommittedRecords {
  envelopes: NewEnvelope[];
  deliveries: NewDelivery[];
  /** The desk assignments the commit made (LogManagerOptions.planAssignments). */
  assigned: DeskAssignment[];
}

export interface LogObserver {
  batchCommitted?(info: { records: number; bytes: number; ms: number; size: number }): void;
  queueDepth?(depth: number): void;
}

export interface LogManagerOptions {
  store: RelayStore;
  logKey: Ed25519Key;
  origin: string;
  clock: () => number;
  random?: Random;
  batchSize: number;
  batchBytes: number;
  queueDepth: number;
  onCommitted?: (records: CommittedRecords) => void;
  /**
   * Desks to hand a batch's new envelopes to in its commit (push-hub.ts), asked just before
   * the commit of a store that `assignsInCommit`.
   */
  planAssignments?: (envelopes: readonly NewEnvelope[], now: number) => DeskAssignment[];
  /** A commit that carried planned assignments failed: whether they were made is unknown. */
  onCommitFailed?: () => void;
  /**
   * Computes leaves (core's commitLeaf) elsewhere: a submission's leaf is known when it arrives
   * (its time is its arrival), so it is started then, off the event loop (the verification
   * pool's threads), and the group commit only collects it. Without it, or where it fails, the
   * commit computes the leaf itself.
   */
  leaves?: (openings: readonly LeafOpening[]) => Promise<Uint8Array[]>;
  observer?: LogObserver;
}

interface Waiter<T> {
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}

type Pending =
  | ({ kind: 'submit'; item: PendingSubmission; opening: LeafOpening; leaf: Promise<Uint8Array | undefined> | undefined } & Waiter<SubmitOutcome>)
  | ({ kind: 'deliver'; copy: DeliveredCopy } & Waiter<DeliveryOutcome>);

function envelopeKey(from: string, id: Uint8Array): string {
  return `${from}/${toHex(id)}`;
}

function copyKey(envIndex: number, desk: Uint8Array): string {
  return `${envIndex}/${toHex(desk)}`;
}

function nodeKey(id: NodeId): string {
  return `${id.level}/${id.index}`;
}

export class LogManager {
  readonly #o: LogManagerOptions;
  readonly #random: Random;
  #frontier: Frontier = EMPTY_FRONTIER;
  #checkpoint: StoredCheckpoint | undefined;
  readonly #queue: Pending[] = [];
  #running: Promise<void> | undefined;
  #closed = false;
  /**
   * Batches still to be built after asking the store first, although its commit would refuse
   * what it knows (commitRefusesKnown): set after a refusal, so that resends arriving together
   * (a station retrying, or one resending on purpose) cost a read a batch, as before, and not a
   * refused commit and a second one.
   */
  #readFirst = 0;

  private constructor(o: LogManagerOptions) {
    this.#o = o;
    this.#random = o.random ?? systemRandom;
  }

  /**
   * Loads the head from the store and checks it: the stored nodes must give the root of the
   * last checkpoint signed, and that checkpoint must verify under this log key. An empty log
   * gets its first (empty) checkpoint.
   */
  static async open(o: LogManagerOptions): Promise<LogManager> {
    const m = new LogManager(o);
    await m.#reload();
    if (m.#checkpoint === undefined) {
      const note = signCheckpoint(o.logKey, o.origin, 0, emptyRoot());
      const cp = { size: 0, root: emptyRoot(), note, signedAt: o.clock() };
      await o.store.commitBatch({ envelopes: [], deliveries: [], equivocations: [], leaves: [], nodes: [], checkpoint: cp });
      m.#checkpoint = cp;
    }
    return m;
  }

  async #reload(): Promise<void> {
    const { store, logKey, origin } = this.#o;
    const size = await store.logSize();
    const cp = await store.latestCheckpoint();
    if (cp === undefined) {
      if (size !== 0) throw new RelayError('store_inconsistent', `the log holds ${size} leaves but no checkpoint`);
      this.#frontier = EMPTY_FRONTIER;
      this.#checkpoint = undefined;
      return;
    }
    if (cp.size !== size) throw new RelayError('store_inconsistent', `the last checkpoint is for size ${cp.size} but the log holds ${size} leaves`);
    const frontier = frontierFromHashes(size, await store.getNodes(frontierNodeIds(size)));
    const root = rootOf(frontier);
    if (!equalBytes(root, cp.root)) throw new RelayError('store_inconsistent', `the stored tree of size ${size} does not match the last checkpoint signed`);
    let opened;
    try {
      opened = openCheckpoint(cp.note, deriveVkey(logKey, origin));
    } catch (cause) {
      throw new RelayError('store_inconsistent', 'the last checkpoint in the store is not signed by this log key for this origin', { cause });
    }
    if (opened.checkpoint.size !== size || !equalBytes(opened.checkpoint.rootHash, root)) {
      throw new RelayError('store_inconsistent', 'the last checkpoint note does not state the stored size and root');
    }
    this.#frontier = frontier;
    this.#checkpoint = cp;
  }

  get size(): number {
    return this.#frontier.size;
  }

  /** The latest checkpoint signed (and committed). */
  get checkpoint(): StoredCheckpoint {
    if (this.#checkpoint === undefined) throw new RelayError('unavailable', 'the log is not open');
    return this.#checkpoint;
  }

  get queueDepth(): number {
    return this.#queue.length;
  }

  submit(item: PendingSubmission): Promise<SubmitOutcome> {
    const refused = this.#refusal();
    if (refused !== undefined) return Promise.reject(refused);
    const h = item.envelope.header;
    const opening: LeafOpening = { salt: this.#random(32), type: 'submit', from: h.from, to: h.to, prec: precedenceCode(h.precedence), time: item.received, digest: item.envelope.digest, ref: item.token.hash };
    // Never rejects: a leaf that could not be had here is computed at the commit.
    const leaf = this.#o.leaves?.([opening]).then(
      ([l]) => l,
      () => undefined,
    );
    return new Promise((resolve, reject) => {
      this.#enqueue({ kind: 'submit', item, opening, leaf, resolve, reject });
    });
  }

  deliver(copy: DeliveredCopy): Promise<DeliveryOutcome> {
    return new Promise((resolve, reject) => {
      this.#enqueue({ kind: 'deliver', copy, resolve, reject });
    });
  }

  /** Why a record cannot join the queue now, if it cannot. */
  #refusal(): RelayError | undefined {
    if (this.#closed) return new RelayError('unavailable', 'the relay is shutting down');
    if (this.#queue.length >= this.#o.queueDepth) return new RelayError('unavailable', 'the relay is saturated; retry shortly');
    return undefined;
  }

  #enqueue(p: Pending): void {
    const refused = this.#refusal();
    if (refused !== undefined) {
      p.reject(refused);
      return;
    }
    this.#queue.push(p);
    this.#o.observer?.queueDepth?.(this.#queue.length);
    // setImmediate, not a timer: everything that arrived in this turn of the event loop joins
    // the batch, and nothing waits for a tick that need not be.
    this.#running ??= new Promise<void>((done) => setImmediate(done)).then(() => this.#drain());
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#takeBatch();
        this.#o.observer?.queueDepth?.(this.#queue.length);
        try {
          await this.#commit(batch);
        } catch (e) {
          // A bug, not a store failure (those are answered inside): every waiter still gets an
          // answer, and the next batch goes on from what the store holds.
          for (const p of batch) p.reject(e);
          await this.#reload().catch(() => undefined);
        }
      }
    } finally {
      this.#running = undefined;
    }
  }

  #takeBatch(): Pending[] {
    const out: Pending[] = [];
    let bytes = 0;
    while (this.#queue.length > 0 && out.length < this.#o.batchSize) {
      const next = this.#queue[0]!;
      const size = next.kind === 'submit' ? next.item.envelope.bytes.length : 1024;
      if (out.length > 0 && bytes + size > this.#o.batchBytes) break;
      bytes += size;
      out.push(this.#queue.shift()!);
    }
    return out;
  }

  /** Waits for every queued record to be committed (or refused), then refuses new ones. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#running !== undefined) await this.#running;
  }

  /**
   * `read`: ask the store first what of the batch it knows. A store whose commit refuses what it
   * knows (commitRefusesKnown) is asked only after such a refusal, and the batch built again.
   */
  async #commit(batch: Pending[], read = this.#readsFirst()): Promise<void> {
    const t0 = performance.now();
    const { store } = this.#o;
    const submits = batch.filter((p) => p.kind === 'submit');
    const delivers = batch.filter((p) => p.kind === 'deliver');
    // Duplicates of records committed earlier are answered whatever this commit does;
    // equivocations are answered 409 once their evidence is stored.
    const settle: (() => void)[] = [];
    const equivocators: { reject(e: unknown): void; err: RelayError }[] = [];

    let known: KnownEnvelope[] = [];
    let delivered: StoredDelivery[] = [];
    if (read) {
      try {
        known = await store.findKnown(submits.map((p) => ({ from: p.item.envelope.header.from, id: p.item.envelope.header.id })));
        delivered = await store.findDeliveries(delivers.map((p) => ({ envIndex: p.copy.index, desk: p.copy.desk })));
      } catch (e) {
        for (const p of batch) p.reject(e);
        return;
      }
    }
    const knownBy = new Map(known.map((k) => [envelopeKey(k.from, k.id), k]));
    const deliveredBy = new Map(delivered.map((d) => [copyKey(d.envIndex, d.desk), d]));

    const now = this.#o.clock();
    const start = this.#frontier.size;
    const openings: LeafOpening[] = [];
    // Leaves under way elsewhere, by position in `openings` (LogManagerOptions.leaves).
    const early: (Promise<Uint8Array | undefined> | undefined)[] = [];
    const envelopes: NewEnvelope[] = [];
    const deliveries: NewDelivery[] = [];
    const equivocations: Equivocation[] = [];
    // Within the batch: the first record of an id or copy wins; later ones wait on it.
    const batchEnvelopes = new Map<string, { digest: Uint8Array; waiters: Waiter<SubmitOutcome>[]; row: NewEnvelope }>();
    const batchDeliveries = new Map<string, { waiters: Waiter<DeliveryOutcome>[]; row: NewDelivery }>();

    for (const p of submits) {
      const { envelope: env, token, received } = p.item;
      const h = env.header;
      const key = envelopeKey(h.from, h.id);
      const prior = knownBy.get(key);
      const inBatch = batchEnvelopes.get(key);
      const priorDigest = prior?.digest ?? inBatch?.digest;
      if (priorDigest !== undefined) {
        if (equalBytes(priorDigest, env.digest)) {
          if (prior !== undefined) {
            settle.push(() => {
              p.resolve({ index: prior.index, receipt: prior.receipt, duplicate: true });
            });
          } else {
            inBatch!.waiters.push({
              resolve: (o) => {
                p.resolve({ ...o, duplicate: true });
              },
              reject: p.reject,
            });
          }
        } else {
          // Mixed messages: two envelopes signed under one (sender, id). Both are kept.
          equivocations.push({ from: h.from, id: h.id, digest: env.digest, bytes: env.bytes, token: token.bytes, station: h.station, received });
          const err = new RelayError('equivocation', `party ${h.from} already sent different bytes under envelope id ${toHex(h.id)}; both copies are kept`);
          equivocators.push({ reject: p.reject, err });
        }
        continue;
      }
      const index = start + openings.length;
      const { opening } = p;
      openings.push(opening);
      early.push(p.leaf);
      const row: NewEnvelope = {
        index,
        from: h.from,
        id: h.id,
        digest: env.digest,
        bytes: env.bytes,
        to: h.to,
        prec: opening.prec,
        created: h.created,
        size: h.size,
        token: token.bytes,
        station: h.station,
        received,
        salt: opening.salt,
        receipt: '', // set once the checkpoint is signed
      };
      envelopes.push(row);
      batchEnvelopes.set(key, { digest: env.digest, waiters: [p], row });
    }

    for (const p of delivers) {
      const c = p.copy;
      const key = copyKey(c.index, c.desk);
      const prior = deliveredBy.get(key);
      if (prior !== undefined) {
        settle.push(() => {
          p.resolve({ index: prior.index, record: prior.record, receipt: prior.receipt });
        });
        continue;
      }
      const inBatch = batchDeliveries.get(key);
      if (inBatch !== undefined) {
        inBatch.waiters.push(p);
        continue;
      }
      const record = signDeliveryRecord(this.#o.logKey, {
        origin: this.#o.origin,
        from: c.from,
        to: c.to,
        id: c.id,
        digest: c.digest,
        index: c.index,
        submitted: c.received,
        delivered: c.assigned,
        desk: c.desk,
      });
      const index = start + openings.length;
      const opening: LeafOpening = { salt: this.#random(32), type: 'delivery', from: c.from, to: c.to, prec: c.prec, time: now, digest: c.digest, ref: sha256(record) };
      openings.push(opening);
      early.push(undefined);
      const row: NewDelivery = { index, envIndex: c.index, from: c.from, to: c.to, desk: c.desk, record, salt: opening.salt, receipt: '', created: now };
      deliveries.push(row);
      batchDeliveries.set(key, { waiters: [p], row });
    }

    let committed: CommittedRecords | undefined;
    let planned = false;
    try {
      let checkpoint: StoredCheckpoint | undefined;
      let leaves: { index: number; leaf: Uint8Array }[] = [];
      let nodes: CompletedNode[] = [];
      let frontier = this.#frontier;
      if (openings.length > 0) {
        const got: (Uint8Array | undefined)[] = early.some((l) => l !== undefined) ? await Promise.all(early.map(async (l) => l)) : [];
        const leafBytes = openings.map((o, i) => got[i] ?? commitLeaf(o));
        leaves = leafBytes.map((leaf, i) => ({ index: start + i, leaf }));
        const appended = appendLeaves(this.#frontier, leafBytes.map(hashLeaf));
        frontier = appended.frontier;
        nodes = appended.completed;
        const root = rootOf(frontier);
        const lookup = this.#proofNodes(nodes);
        this.#assertConsistent(frontier.size, root, lookup);
        const note = signCheckpoint(this.#o.logKey, this.#o.origin, frontier.size, root);
        checkpoint = { size: frontier.size, root, note, signedAt: now };
        const receiptFor = (index: number): string => {
          const ids = inclusionNodes(index, frontier.size);
          return formatReceipt({ opening: openings[index - start]!, index, proof: rehashProof(ids, lookup(ids.ids)), checkpoint: note });
        };
        for (const e of envelopes) e.receipt = receiptFor(e.index);
        for (const d of deliveries) d.receipt = receiptFor(d.index);
      }
      let assigned: DeskAssignment[] = [];
      if (checkpoint !== undefined || equivocations.length > 0) {
        const b: CommitBatch = { envelopes, deliveries, equivocations, leaves, nodes, checkpoint };
        if (envelopes.length > 0 && store.assignsInCommit && this.#o.planAssignments !== undefined) {
          b.assignments = this.#o.planAssignments(envelopes, now);
          planned = b.assignments.length > 0;
        }
        const c = await store.commitBatch(b);
        if (c === 'known') {
          if (read) throw new RelayError('store_inconsistent', 'the store refused a batch as known after answering that it knew none of it');
          throw REFUSED_AS_KNOWN;
        }
        assigned = c.assigned;
      }
      // Committed: the new head is what the store now holds.
      this.#frontier = frontier;
      if (checkpoint !== undefined) this.#checkpoint = checkpoint;
      committed = { envelopes, deliveries, assigned };
    } catch (e) {
      if (e === REFUSED_AS_KNOWN) {
        // Nothing was written, and nothing of this attempt left the process (its checkpoint was
        // never stored or sent): the batch is built again from what the store knows.
        this.#readFirst = READ_FIRST_AFTER_REFUSAL;
        await this.#commit(batch, true);
        return;
      }
      // The store is the truth: whatever happened to the transaction, continue from what it holds.
      if (planned) this.#o.onCommitFailed?.();
      await this.#reload().catch(() => undefined);
      for (const { waiters } of batchEnvelopes.values()) for (const w of waiters) w.reject(e);
      for (const { waiters } of batchDeliveries.values()) for (const w of waiters) w.reject(e);
      for (const q of equivocators) q.reject(e);
      for (const s of settle) s();
      return;
    }

    // Only now, after the commit returned, do receipts leave.
    for (const { waiters, row } of batchEnvelopes.values()) {
      waiters.forEach((w, i) => {
        w.resolve({ index: row.index, receipt: row.receipt, duplicate: i > 0 });
      });
    }
    for (const { waiters, row } of batchDeliveries.values()) for (const w of waiters) w.resolve({ index: row.index, record: row.record, receipt: row.receipt });
    for (const s of settle) s();
    for (const q of equivocators) q.reject(q.err);
    this.#o.observer?.batchCommitted?.({ records: openings.length, bytes: envelopes.reduce((n, e) => n + e.bytes.length, 0), ms: performance.now() - t0, size: this.#frontier.size });
    if (openings.length > 0) this.#o.onCommitted?.(committed);
  }

  #readsFirst(): boolean {
    if (!this.#o.store.commitRefusesKnown) return true;
    if (this.#readFirst === 0) return false;
    this.#readFirst--;
    return true;
  }

  /** Node hashes from the old frontier and the batch's completed nodes: all a batch's proofs need. */
  #proofNodes(completed: readonly CompletedNode[]): (ids: readonly NodeId[]) => Uint8Array[] {
    const map = new Map<string, Uint8Array>();
    const old = this.#frontier;
    frontierNodeIds(old.size).forEach((id, i) => map.set(nodeKey(id), old.hashes[i]!));
    for (const n of completed) map.set(nodeKey(n), n.hash);
    return (ids) =>
      ids.map((id) => {
        const h = map.get(nodeKey(id));
        if (h === undefined) throw new RelayError('store_inconsistent', `proof node ${nodeKey(id)} is not at hand`);
        return h;
      });
  }

  /** Refuses to sign a checkpoint that the last one signed is not a prefix of (RFC 9162 §2.1.4). */
  #assertConsistent(size: number, root: Uint8Array, lookup: (ids: readonly NodeId[]) => Uint8Array[]): void {
    const last = this.#checkpoint;
    if (last === undefined || last.size === 0) return;
    try {
      const ids = consistencyNodes(last.size, size);
      verifyConsistency(last.size, size, rehashProof(ids, lookup(ids.ids)), last.root, root);
    } catch (cause) {
      throw new RelayError('store_inconsistent', `refusing to sign a checkpoint of size ${size} inconsistent with the last one (size ${last.size})`, { cause });
    }
  }
}
