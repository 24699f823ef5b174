/**
 * Checkpoint notes already opened, by their exact text and the key that verified them. A relay
 * signs one checkpoint per batch, and every receipt, delivered copy and delivery record of that
 * batch carries it (a whole sync page shares one), so a desk would otherwise verify the same
 * Ed25519 signature over the same bytes again and again. `openCheckpoint` is a pure function of
 * (note, key, expected origin), so a hit needs all three identical and nothing else: another
 * text, key or origin is opened afresh. A note that fails is never cached: it fails every time.
 */
import { BoundedCache } from '../bounded-cache.js';
import { toBase64 } from '../bytes.js';
import { openCheckpoint, type OpenedCheckpoint } from './checkpoint.js';
import type { NoteSignature } from './signed-note.js';
import type { Vkey } from './vkey.js';

// A relay's few recent checkpoints are what repeats.
// Longer notes (many cosignatures) are verified every time rather than held.
const MAX_NOTE_CHARS = 8192;
const opened = new BoundedCache<string, OpenedCheckpoint>(64);

function cacheKey(note: string | Uint8Array, logKey: Vkey, origin: string | undefined): string | undefined {
  if (typeof note !== 'string' && !(note instanceof Uint8Array)) return undefined;
  const length = typeof note === 'string' ? note.length : note.byteLength;
  // Anything unusual (an oversized note, a malformed key) is left to openCheckpoint to judge.
  if (length > MAX_NOTE_CHARS || !(logKey.publicKey instanceof Uint8Array)) return undefined;
  // The key is everything the verification reads: the key's type, name, ID and public key, the
  // expected origin, and the note as given. Strings and bytes are tagged apart ('s'/'b'), and
  // JSON quoting keeps every field's boundaries unambiguous.
  const text = typeof note === 'string' ? `s${note}` : `b${toBase64(note)}`;
  return JSON.stringify([logKey.type, logKey.name, logKey.keyId, toBase64(logKey.publicKey), origin ?? null, text]);
}

function copySignature(s: NoteSignature): NoteSignature {
  return { name: s.name, keyId: s.keyId, signature: s.signature.slice() };
}

function copyOf(o: OpenedCheckpoint): OpenedCheckpoint {
  // Callers get their own arrays: a caller that writes into one must not change the cache.
  const cp = o.checkpoint;
  return {
    checkpoint: { origin: cp.origin, size: cp.size, rootHash: cp.rootHash.slice(), extensions: [...cp.extensions] },
    note: {
      text: o.note.text,
      textBytes: o.note.textBytes.slice(),
      signatures: o.note.signatures.map(copySignature),
      verified: o.note.verified.map(copySignature),
      unverified: o.note.unverified.map(copySignature),
    },
  };
}

/** `openCheckpoint`, remembering what opened. Throws exactly as it does. */
export function openCheckpointCached(note: string | Uint8Array, logKey: Vkey, options: { origin?: string } = {}): OpenedCheckpoint {
  const k = cacheKey(note, logKey, options.origin);
  if (k === undefined) return openCheckpoint(note, logKey, options);
  const hit = opened.get(k);
  if (hit !== undefined) return copyOf(hit);
  const o = openCheckpoint(typeof note === 'string' ? note : Uint8Array.from(note), logKey, options);
  opened.set(k, copyOf(o));
  return o;
}

/** @internal For tests: how many checkpoints are held. */
export function checkpointCacheSize(): number {
  return opened.size;
}
