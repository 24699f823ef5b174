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
 * Bounded by count, and only envelopes of the two smaller size buckets are kept: an entry holds
 * its envelope and what opened from it, three to four times the envelope's size, so ~15 MiB at
 * most for 2 KiB notes (4 KiB envelopes) and ~60 MiB for a run of 16 KiB envelopes.
 */
import { BoundedCache, toHex, type OpenedEnvelope } from '@backchannel/core';

// Copies of one note arrive within the same second or two of each other from live relays: a
// few seconds of notes at hundreds a second.
const ENTRIES = 1024;
// The 4 KiB and 16 KiB buckets (a 2 KiB note is a 4 KiB envelope).
const MAX_BYTES = 16_384;

export class OpenedEnvelopes {
  readonly #cache = new BoundedCache<string, OpenedEnvelope>(ENTRIES);

  get(digest: Uint8Array): OpenedEnvelope | undefined {
    return this.#cache.get(toHex(digest));
  }

  remember(digest: Uint8Array, opened: OpenedEnvelope): void {
    if (opened.bytes.byteLength <= MAX_BYTES) this.#cache.set(toHex(digest), opened);
  }
}
