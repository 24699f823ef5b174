/**
 * C2SP tlog-proof (c2sp.org/tlog-proof@v1): an offline-verifiable proof that an entry is in a
 * log, and our relay receipt (DESIGN.md, "Submitting, receipts, the log").
 *
 *   c2sp.org/tlog-proof@v1\n
 *   [extra <base64>\n]
 *   index <decimal>\n
 *   (<base64 hash>\n)*            RFC 6962 §2.1.1 inclusion path, leaf's sibling first
 *   \n
 *   <checkpoint note, verbatim>
 *
 * The whole text is attacker-controlled. `parseTlogProof` only splits it; the checkpoint stays
 * an opaque note until `verifyTlogProof` has checked its signature.
 */
import { fromBase64, toBase64 } from '../bytes.js';
import { BackchannelError } from '../errors.js';
import { hashLeaf } from '../merkle/hasher.js';
import { verifyInclusion } from '../merkle/verify.js';
import { openCheckpointCached } from './checkpoint-cache.js';
import { parseDecimal, parseHashLine, type Checkpoint } from './checkpoint.js';
import type { OpenedNote } from './signed-note.js';
import type { Vkey } from './vkey.js';

export const TLOG_PROOF_HEADER = 'c2sp.org/tlog-proof@v1';
/** More hashes than this cannot be an inclusion path in any tree of fewer than 2^63 leaves. */
export const MAX_PROOF_HASHES = 63;

export interface TlogProof {
  /** Opaque, unauthenticated application data (tlog-proof §Format: MUST NOT be trusted implicitly). */
  readonly extra?: Uint8Array | undefined;
  /** Zero-based index of the entry. */
  readonly index: number;
  /** The inclusion path, 32-byte hashes from the leaf's sibling up to the root's child. */
  readonly proof: readonly Uint8Array[];
  /** The log's signed checkpoint note, verbatim, with any witness cosignatures. */
  readonly checkpoint: string;
}

export interface VerifiedTlogProof {
  readonly index: number;
  readonly extra: Uint8Array | undefined;
  readonly checkpoint: Checkpoint;
  /** The verified checkpoint note; its unverified signatures include witness cosignatures. */
  readonly note: OpenedNote;
}

const LONE_SURROGATE = /\p{Cs}/u;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function invalid(problems: readonly string[]): never {
  throw new BackchannelError('proof_invalid', `malformed tlog-proof: ${problems.join('; ')}`, { details: { problems } });
}

function toText(input: string | Uint8Array): string {
  if (typeof input === 'string') {
    if (LONE_SURROGATE.test(input)) invalid(['not valid Unicode']);
    return input;
  }
  if (!(input instanceof Uint8Array)) invalid(['a tlog-proof is a string or bytes']);
  try {
    return strictUtf8.decode(input);
  } catch {
    invalid(['not valid UTF-8']);
  }
}

/** Parses a tlog-proof strictly; 'proof_invalid' names every bad line. Does not verify anything. */
export function parseTlogProof(input: string | Uint8Array): TlogProof {
  const text = toText(input);
  // The header ends at the first empty line; everything after it is the checkpoint note.
  const blank = text.indexOf('\n\n');
  if (blank < 0) invalid(['no empty line before the checkpoint']);
  const lines = text.slice(0, blank).split('\n');
  const checkpoint = text.slice(blank + 2);
  const problems: string[] = [];
  if (lines[0] !== TLOG_PROOF_HEADER) problems.push(`first line is not ${TLOG_PROOF_HEADER}`);
  let i = 1;
  let extra: Uint8Array | undefined;
  if (lines[i]?.startsWith('extra ') === true) {
    try {
      extra = fromBase64(lines[i]!.slice('extra '.length));
    } catch {
      problems.push('extra data is not canonical base64');
    }
    // With no extra data the line is omitted (tlog-proof §Format), so an empty one is not canonical.
    if (extra?.length === 0) problems.push('extra line is empty');
    i++;
  }
  const indexLine = lines[i] ?? '';
  const index = indexLine.startsWith('index ') ? parseDecimal(indexLine.slice('index '.length)) : undefined;
  if (index === undefined) problems.push('missing or malformed index line');
  i++;
  const hashLines = lines.slice(i);
  if (hashLines.length > MAX_PROOF_HASHES) {
    problems.push(`more than ${MAX_PROOF_HASHES} proof hashes`);
  }
  const proof: Uint8Array[] = [];
  hashLines.slice(0, MAX_PROOF_HASHES).forEach((line, n) => {
    const hash = parseHashLine(line);
    if (hash === undefined) problems.push(`proof line ${n + 1} is not the base64 of 32 bytes`);
    else proof.push(hash);
  });
  if (checkpoint.length === 0) problems.push('checkpoint is missing');
  if (problems.length > 0 || index === undefined) invalid(problems);
  return { extra, index, proof, checkpoint };
}

export function formatTlogProof(p: TlogProof): string {
  const problems: string[] = [];
  if (p.extra?.length === 0) problems.push('extra data is empty (omit it instead)');
  if (!Number.isSafeInteger(p.index) || p.index < 0) problems.push('index must be a safe non-negative integer');
  if (p.proof.length > MAX_PROOF_HASHES) problems.push(`more than ${MAX_PROOF_HASHES} proof hashes`);
  if (p.proof.some((h) => !(h instanceof Uint8Array) || h.length !== 32)) problems.push('proof hashes must be 32 bytes');
  if (typeof p.checkpoint !== 'string' || !p.checkpoint.endsWith('\n')) problems.push('checkpoint must be a note ending in a newline');
  if (problems.length > 0) {
    throw new BackchannelError('argument_invalid', `cannot format tlog-proof: ${problems.join('; ')}`, { details: { problems } });
  }
  const extra = p.extra === undefined ? '' : `extra ${toBase64(p.extra)}\n`;
  const hashes = p.proof.map((h) => `${toBase64(h)}\n`).join('');
  return `${TLOG_PROOF_HEADER}\n${extra}index ${String(p.index)}\n${hashes}\n${p.checkpoint}`;
}

/**
 * Verifies that `leaf` (the entry's bytes, hashed here as an RFC 6962 leaf) is at the proof's
 * index in the tree the log key signed: the checkpoint signature first, then the body, then the
 * Merkle path. Throws the checkpoint/note codes, or the Merkle verifier's codes. Witness
 * cosignatures are left in `note` for verifyCosignatures and the caller's quorum policy.
 */
export function verifyTlogProof(
  proof: string | Uint8Array | TlogProof,
  logKey: Vkey,
  leaf: Uint8Array,
  options: { origin?: string } = {},
): VerifiedTlogProof {
  const p = typeof proof === 'string' || proof instanceof Uint8Array ? parseTlogProof(proof) : proof;
  const { checkpoint, note } = openCheckpointCached(p.checkpoint, logKey, options);
  verifyInclusion(hashLeaf(leaf), p.index, checkpoint.size, p.proof, checkpoint.rootHash);
  return { index: p.index, extra: p.extra, checkpoint, note };
}
