/**
 * The envelopes this desk opened lately, by digest, so that the same note's copies from the
 * other relays are not opened from scratch (FLASH goes through every relay: three copies of
 * each note). A copy whose digest is held here is still checked in full for its own relay —
 * token and receipt — and its opening is judged again at that relay's log time
 * (core's `openEnvelope` with `known`); only the signatures and the decryption, facts of the
 * bytes, are not repeated. SHA-256 makes the digest stand for the bytes, and core compares the
 * bytes themselves anyway.
 *
 * Memory of the process, like the decrypted notes already are while a desk handles them.
 * Bounded by count, and only envelopes of the smallest size bucket (4 KiB, notes up to ~2.5 KiB)
 * are kept: an entry holds its envelope and what opened from it, three to four times the
 * envelope's size, so ~15 MiB at most. A larger note's copies are opened in full each.
 */
import { BoundedCache, toHex, type OpenedEnvelope } from '@backchannel/core';

// Copies of one note arrive within the same second or two of each other from live relays: a
// few seconds of notes at hundreds a second.
const ENTRIES = 1024;
// The smallest bucket (a 2 KiB note is a 4 KiB envelope).
const MAX_BYTES = 4096;

export class OpenedEnvelopes {
  readonly #cache = new BoundedCache<string, OpenedEnvelope>(ENTRIES);

  get(digest: Uint8Array): OpenedEnvelope | undefined {
    return this.#cache.get(toHex(digest));
  }

  remember(digest: Uint8Array, opened: OpenedEnvelope): void {
    if (opened.bytes.byteLength <= MAX_BYTES) this.#cache.set(toHex(digest), opened);
  }
}
