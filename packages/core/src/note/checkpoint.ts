/**
 * C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint): the signed-note body that states a log's
 * tree head,
 *
 *   <origin>\n<tree size, decimal>\n<base64 root hash>\n(<extension line>\n)*
 *
 * `openCheckpoint` verifies the log's signature over the exact note bytes first and parses the
 * body only afterwards (STYLE.md §4). The grammars of the size and hash lines here are reused by
 * tlog-proof and tlog-witness, which state them the same way.
 */
import { fromBase64, toBase64 } from '../bytes.js';
import type { Ed25519Key } from '../ed25519.js';
import { BackchannelError } from '../errors.js';
import { createNoteSigner, createNoteVerifier, openNote, signNote, type OpenedNote } from './signed-note.js';
import { hasControlCharacter, type Vkey } from './vkey.js';

export interface Checkpoint {
  /** The log's identity (tlog-checkpoint §"Note text" 1). Any non-empty line. */
  readonly origin: string;
  /** Number of leaves in the tree. */
  readonly size: number;
  /** The RFC 6962 Merkle tree hash at `size` (32 bytes). */
  readonly rootHash: Uint8Array;
  /** Opaque, non-empty extension lines (NOT RECOMMENDED by the spec; carried, never interpreted). */
  readonly extensions: readonly string[];
}

export interface OpenedCheckpoint {
  readonly checkpoint: Checkpoint;
  /** The verified note: its text is the checkpoint body; its other signatures (e.g. witnesses') are carried. */
  readonly note: OpenedNote;
}

// ASCII decimal with no leading zeroes (tlog-checkpoint §"Note text" 2; the same rule for
// tlog-proof's index and tlog-witness's old size). Sixteen digits reach past 2^53; longer
// strings are refused before any conversion.
const DECIMAL_RE = /^(0|[1-9][0-9]{0,15})$/;
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Parses a strict decimal: the exact text `String(n)` of a safe non-negative integer, or
 * undefined. Attacker text; never handed to a lenient parseInt/BigInt.
 */
export function parseDecimal(text: string): number | undefined {
  if (!DECIMAL_RE.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Parses one base64 line holding exactly one SHA-256 hash (32 bytes), or undefined. */
export function parseHashLine(text: string): Uint8Array | undefined {
  // 32 bytes are 44 base64 characters; checking first keeps a huge line from being decoded.
  if (text.length !== 44) return undefined;
  try {
    const hash = fromBase64(text);
    return hash.length === 32 ? hash : undefined;
  } catch {
    return undefined;
  }
}

/** A line we may write: non-empty, no control character (newline included), valid Unicode. */
function isLine(s: unknown): boolean {
  return typeof s === 'string' && s.length > 0 && !hasControlCharacter(s, false) && !LONE_SURROGATE.test(s);
}

function problemsOf(cp: Checkpoint): string[] {
  const problems: string[] = [];
  if (!isLine(cp.origin)) problems.push('origin must be one non-empty line');
  if (!Number.isSafeInteger(cp.size) || cp.size < 0) problems.push('tree size must be a safe non-negative integer');
  if (!(cp.rootHash instanceof Uint8Array) || cp.rootHash.length !== 32) problems.push('root hash must be 32 bytes');
  cp.extensions.forEach((ext, i) => {
    if (!isLine(ext)) problems.push(`extension line ${i + 1} must be one non-empty line`);
  });
  return problems;
}

function fail(problems: readonly string[], extra?: Record<string, unknown>): never {
  throw new BackchannelError('checkpoint_malformed', `malformed checkpoint: ${problems.join('; ')}`, {
    details: { problems, ...extra },
  });
}

/**
 * Parses a checkpoint body (a note text). Reports every bad line at once. Call it on the text
 * of a note that `openNote` has verified; `openCheckpoint` does both.
 */
export function parseCheckpoint(text: string): Checkpoint {
  if (typeof text !== 'string' || !text.endsWith('\n')) fail(['a checkpoint ends in a newline']);
  if (hasControlCharacter(text, true) || LONE_SURROGATE.test(text)) fail(['checkpoint contains a control character']);
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) fail(['a checkpoint has at least three lines']);
  const [origin, sizeLine, rootLine] = lines as [string, string, string];
  const extensions = lines.slice(3);
  const problems: string[] = [];
  if (origin.length === 0) problems.push('origin is empty');
  const size = parseDecimal(sizeLine);
  if (size === undefined) problems.push('tree size is not a decimal without leading zeroes (at most 2^53-1)');
  const rootHash = parseHashLine(rootLine);
  if (rootHash === undefined) problems.push('root hash is not the base64 of 32 bytes');
  extensions.forEach((ext, i) => {
    if (ext.length === 0) problems.push(`extension line ${i + 1} is empty`);
  });
  if (problems.length > 0 || size === undefined || rootHash === undefined) fail(problems);
  return { origin, size, rootHash, extensions };
}

/** The checkpoint body. Bad fields are the caller's: 'argument_invalid', naming all of them. */
export function formatCheckpoint(cp: Checkpoint): string {
  const problems = problemsOf(cp);
  if (problems.length > 0) {
    throw new BackchannelError('argument_invalid', `cannot format checkpoint: ${problems.join('; ')}`, { details: { problems } });
  }
  return [cp.origin, String(cp.size), toBase64(cp.rootHash), ...cp.extensions].join('\n') + '\n';
}

/**
 * The full signed note of a checkpoint, signed by the log key under the name `origin`
 * (tlog-checkpoint §Signatures: the key name SHOULD match the origin; for us it always does).
 */
export function signCheckpoint(
  key: Ed25519Key,
  origin: string,
  size: number,
  rootHash: Uint8Array,
  extensions: readonly string[] = [],
): string {
  const text = formatCheckpoint({ origin, size, rootHash, extensions });
  return signNote(text, [createNoteSigner(key, origin)]);
}

/**
 * Verifies a checkpoint note with the log's key, then parses it. The origin must equal the
 * key's name, unless `options.origin` names another expected origin (the spec only says SHOULD:
 * sum.golang.org signs "go.sum database tree" as "sum.golang.org"). Signatures by other keys,
 * e.g. witness cosignatures, are carried in `note` unverified; see verifyCosignatures.
 */
export function openCheckpoint(note: string | Uint8Array, logKey: Vkey, options: { origin?: string } = {}): OpenedCheckpoint {
  const opened = openNote(note, [createNoteVerifier(logKey)]);
  const checkpoint = parseCheckpoint(opened.text);
  const expected = options.origin ?? logKey.name;
  if (checkpoint.origin !== expected) {
    fail(['origin does not match the log'], { reason: 'origin_mismatch', origin: checkpoint.origin, expected });
  }
  return { checkpoint, note: opened };
}
