/**
 * A C2SP tlog-witness (c2sp.org/tlog-witness, "add-checkpoint"): checks a log's checkpoint
 * against the log keys it is configured with and against the last checkpoint it cosigned for
 * that origin, records the new size and root atomically and durably, and answers with
 * cosignature/v1 (type 0x04) lines under its own cosigning key, never a log key.
 *
 * The same witness is mounted in a relay (`RelayOptions.witness`, POST /witness/add-checkpoint)
 * and served stand-alone by @backchannel/witness (POST /add-checkpoint).
 *
 * Status codes, exactly as the spec sets them:
 *   200  one cosignature line ("— <name> <base64>\n")
 *   400  malformed body, or old size above the checkpoint's size
 *   403  no signature by a trusted key for the origin (or a trusted key's signature is bad)
 *   404  unknown origin
 *   409  old size is not the size last cosigned (body: that size in decimal, "\n",
 *        Content-Type text/x.tlog.size), or same size with another root
 *   422  the consistency proof does not verify
 * An old size of 0 with an empty proof is the empty tree: consistent with every tree, and
 * accepted only while the witness has cosigned nothing for the origin (else 409).
 */
import {
  BackchannelError,
  SIGNATURE_TYPE_COSIGNATURE_V1,
  SIGNATURE_TYPE_ED25519,
  cosignCheckpoint,
  createNoteVerifier,
  deriveVkey,
  emptyRoot,
  equalBytes,
  formatVkey,
  isBackchannelError,
  openNote,
  parseAddCheckpointRequest,
  parseCheckpoint,
  verifyConsistency,
  type AddCheckpointRequest,
  type Ed25519Key,
  type Vkey,
} from '@backchannel/core';

/** What the witness remembers per log: the last checkpoint it cosigned. */
export interface WitnessedLog {
  origin: string;
  size: number;
  root: Uint8Array;
  /** The checkpoint note as submitted (evidence). */
  note: string;
  updated: number;
}

/** The witness's durable state. `advance` is a compare-and-set: atomic, durable when it returns. */
export interface WitnessStore {
  getLog(origin: string): Promise<WitnessedLog | undefined>;
  /**
   * Records `next` only if the stored size for its origin is still `oldSize` (0: no record).
   * Returns undefined on success, else the size held now (another request won the race).
   */
  advance(oldSize: number, next: WitnessedLog): Promise<number | undefined>;
}

export interface WitnessConfig {
  /** The witness's cosigning key: never a log key. */
  key: Ed25519Key;
  /** The witness name (the key name on its cosignature lines). */
  name: string;
  /** The log keys it trusts (type 0x01 vkeys); the key name is the log's origin. */
  logs: readonly Vkey[];
}

export interface WitnessResponse {
  status: 200 | 400 | 403 | 404 | 409 | 422 | 503;
  contentType: string;
  body: string;
}

export const TLOG_SIZE_CONTENT_TYPE = 'text/x.tlog.size';

function error(status: WitnessResponse['status'], code: string, message: string): WitnessResponse {
  return { status, contentType: 'application/json; charset=utf-8', body: JSON.stringify({ error: { code, message } }) };
}

function conflict(size: number): WitnessResponse {
  return { status: 409, contentType: TLOG_SIZE_CONTENT_TYPE, body: `${String(size)}\n` };
}

export class Witness {
  readonly name: string;
  /** The witness's verifier key (type 0x04), for the relays and verifiers that rely on it. */
  readonly vkey: Vkey;
  readonly #key: Ed25519Key;
  readonly #logs = new Map<string, Vkey[]>();
  readonly #store: WitnessStore;
  readonly #clock: () => number;

  constructor(config: WitnessConfig, store: WitnessStore, clock: () => number = Date.now) {
    this.#key = config.key;
    this.name = config.name;
    this.vkey = deriveVkey(config.key, config.name, SIGNATURE_TYPE_COSIGNATURE_V1);
    for (const v of config.logs) {
      if (v.type !== SIGNATURE_TYPE_ED25519) throw new BackchannelError('key_invalid', `log key ${formatVkey(v)} is not an Ed25519 note key (type 0x01)`);
      if (equalBytes(v.publicKey, config.key.publicKey)) throw new BackchannelError('key_invalid', 'the witness cosigning key must not be a log key');
      const l = this.#logs.get(v.name) ?? [];
      l.push(v);
      this.#logs.set(v.name, l);
    }
    this.#store = store;
    this.#clock = clock;
  }

  /** Handles one add-checkpoint request body. Never throws for bad input; store failures are 503. */
  async addCheckpoint(body: string | Uint8Array): Promise<WitnessResponse> {
    let req: AddCheckpointRequest;
    try {
      req = parseAddCheckpointRequest(body);
    } catch (e) {
      if (isBackchannelError(e)) return error(400, 'request_invalid', e.message);
      throw e;
    }
    // The origin is the note's first line; only its trusted keys may sign it.
    const origin = req.checkpoint.slice(0, Math.max(0, req.checkpoint.indexOf('\n')));
    const keys = this.#logs.get(origin);
    if (keys === undefined) return error(404, 'unknown_log', `this witness does not witness the log ${JSON.stringify(origin.slice(0, 200))}`);
    let text: string;
    let size: number;
    let root: Uint8Array;
    try {
      const opened = openNote(req.checkpoint, keys.map(createNoteVerifier));
      const cp = parseCheckpoint(opened.text);
      if (cp.origin !== origin) return error(400, 'checkpoint_malformed', 'the checkpoint origin is not its first line');
      text = opened.text;
      size = cp.size;
      root = cp.rootHash;
    } catch (e) {
      if (!isBackchannelError(e)) throw e;
      if (e.code === 'note_unverified' || e.code === 'signature_invalid') return error(403, e.code, e.message);
      return error(400, e.code, e.message);
    }
    if (req.oldSize > size) return error(400, 'request_invalid', `old size ${req.oldSize} is above the checkpoint size ${size}`);

    let held: WitnessedLog | undefined;
    try {
      held = await this.#store.getLog(origin);
    } catch {
      return error(503, 'unavailable', 'the witness store did not answer');
    }
    const heldSize = held?.size ?? 0;
    if (req.oldSize !== heldSize) return conflict(heldSize);
    const heldRoot = held?.root ?? emptyRoot();
    if (req.oldSize === size) {
      if (req.consistencyProof.length > 0) return error(422, 'proof_invalid', 'a consistency proof between equal sizes is empty');
      // Same size: the very same tree, or a fork (409, as the spec says).
      if (!equalBytes(root, heldRoot)) return conflict(heldSize);
    } else if (req.oldSize > 0) {
      try {
        verifyConsistency(req.oldSize, size, req.consistencyProof, heldRoot, root);
      } catch (e) {
        if (!isBackchannelError(e)) throw e;
        return error(422, 'proof_invalid', `the consistency proof from ${req.oldSize} to ${size} does not verify`);
      }
    }
    const now = this.#clock();
    try {
      const lost = await this.#store.advance(req.oldSize, { origin, size, root, note: req.checkpoint, updated: now });
      if (lost !== undefined) return conflict(lost);
    } catch {
      return error(503, 'unavailable', 'the witness could not record the checkpoint durably');
    }
    // Persisted: only now does the cosignature leave.
    return { status: 200, contentType: 'text/plain; charset=utf-8', body: cosignCheckpoint(this.#key, this.name, text, Math.floor(now / 1000)) };
  }
}
