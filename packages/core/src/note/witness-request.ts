/**
 * The body of a C2SP tlog-witness `add-checkpoint` request (c2sp.org/tlog-witness,
 * §"add-checkpoint"):
 *
 *   old <decimal size>\n
 *   (<base64 hash>\n){0,63}       RFC 6962 §2.1.2 consistency proof, old size → new size
 *   \n
 *   <checkpoint note, verbatim, possibly with several signatures>
 *
 * Format only. The witness's checks (log key, old size against its state, old ≤ new, the
 * consistency proof) belong to the witness, which opens the checkpoint first. The body is
 * attacker-controlled; every problem is 'request_invalid' (an HTTP 400).
 */
import { toBase64 } from '../bytes.js';
import { BackchannelError } from '../errors.js';
import { parseDecimal, parseHashLine } from './checkpoint.js';

/** tlog-witness: "The client MUST NOT send more than 63 consistency proof lines." */
export const MAX_CONSISTENCY_PROOF_LINES = 63;

export interface AddCheckpointRequest {
  /** The size of the checkpoint the witness last cosigned for this log (0 if none). */
  readonly oldSize: number;
  /** Consistency proof from `oldSize` to the checkpoint's size; empty when `oldSize` is 0. */
  readonly consistencyProof: readonly Uint8Array[];
  /** The signed checkpoint note, verbatim. */
  readonly checkpoint: string;
}

const LONE_SURROGATE = /\p{Cs}/u;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function invalid(problems: readonly string[]): never {
  throw new BackchannelError('request_invalid', `malformed add-checkpoint request: ${problems.join('; ')}`, {
    details: { problems },
  });
}

function toText(body: string | Uint8Array): string {
  if (typeof body === 'string') {
    if (LONE_SURROGATE.test(body)) invalid(['not valid Unicode']);
    return body;
  }
  if (!(body instanceof Uint8Array)) invalid(['a request body is a string or bytes']);
  try {
    return strictUtf8.decode(body);
  } catch {
    invalid(['not valid UTF-8']);
  }
}

/** Parses an add-checkpoint request body strictly, naming every bad line. */
export function parseAddCheckpointRequest(body: string | Uint8Array): AddCheckpointRequest {
  const text = toText(body);
  const blank = text.indexOf('\n\n');
  if (blank < 0) invalid(['no empty line before the checkpoint']);
  const [oldLine = '', ...hashLines] = text.slice(0, blank).split('\n');
  const checkpoint = text.slice(blank + 2);
  const problems: string[] = [];
  const oldSize = oldLine.startsWith('old ') ? parseDecimal(oldLine.slice('old '.length)) : undefined;
  if (oldSize === undefined) problems.push('first line is not "old <size>" with a decimal size');
  if (hashLines.length > MAX_CONSISTENCY_PROOF_LINES) problems.push(`more than ${MAX_CONSISTENCY_PROOF_LINES} consistency proof lines`);
  // "The proof MUST be empty if the old size is zero."
  if (oldSize === 0 && hashLines.length > 0) problems.push('the consistency proof must be empty when the old size is 0');
  const consistencyProof: Uint8Array[] = [];
  hashLines.slice(0, MAX_CONSISTENCY_PROOF_LINES).forEach((line, n) => {
    const hash = parseHashLine(line);
    if (hash === undefined) problems.push(`proof line ${n + 1} is not the base64 of 32 bytes`);
    else consistencyProof.push(hash);
  });
  if (checkpoint.length === 0) problems.push('checkpoint is missing');
  if (problems.length > 0 || oldSize === undefined) invalid(problems);
  return { oldSize, consistencyProof, checkpoint };
}

export function formatAddCheckpointRequest(req: AddCheckpointRequest): string {
  const problems: string[] = [];
  if (!Number.isSafeInteger(req.oldSize) || req.oldSize < 0) problems.push('old size must be a safe non-negative integer');
  if (req.consistencyProof.length > MAX_CONSISTENCY_PROOF_LINES) problems.push(`more than ${MAX_CONSISTENCY_PROOF_LINES} proof lines`);
  if (req.oldSize === 0 && req.consistencyProof.length > 0) problems.push('the consistency proof must be empty when the old size is 0');
  if (req.consistencyProof.some((h) => !(h instanceof Uint8Array) || h.length !== 32)) problems.push('proof hashes must be 32 bytes');
  if (typeof req.checkpoint !== 'string' || !req.checkpoint.endsWith('\n')) problems.push('checkpoint must be a note ending in a newline');
  if (problems.length > 0) {
    throw new BackchannelError('argument_invalid', `cannot format add-checkpoint request: ${problems.join('; ')}`, {
      details: { problems },
    });
  }
  const hashes = req.consistencyProof.map((h) => `${toBase64(h)}\n`).join('');
  return `old ${String(req.oldSize)}\n${hashes}\n${req.checkpoint}`;
}
