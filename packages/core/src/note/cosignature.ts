/**
 * C2SP tlog-cosignature, Ed25519 type (cosignature/v1, signature type 0x04): a witness's
 * timestamped statement that a checkpoint is the largest consistent tree head it has seen.
 *
 * tlog-cosignature §"Ed25519 signed message": the witness signs
 *
 *   "cosignature/v1\n" "time " <decimal timestamp> "\n" <whole checkpoint note text>
 *
 * and the note signature is the 76-byte blob (§Format, `timestamped_signature` after the key ID):
 *
 *   key ID (4, BE) || timestamp (u64, BE) || Ed25519 signature (64)
 *
 * The key ID is SHA-256(name || "\n" || 0x04 || public key)[:4], so the same public key under
 * type 0x01 never matches a cosignature line. The header line is the domain separation that
 * stops a cosignature being taken for a plain note signature or the reverse.
 */
import { concatBytes, utf8 } from '../bytes.js';
import { verifyRaw, type Ed25519Key } from '../ed25519.js';
import { BackchannelError, isBackchannelError } from '../errors.js';
import { parseCheckpoint } from './checkpoint.js';
import { formatSignatureLine, parseSignatureLines, type NoteSignature, type NoteVerifier } from './signed-note.js';
import { SIGNATURE_TYPE_COSIGNATURE_V1, deriveVkey, formatKeyId, type Vkey } from './vkey.js';

export const COSIGNATURE_V1_HEADER = 'cosignature/v1';
/** Key ID (4) + timestamp (8) + Ed25519 signature (64). */
export const COSIGNATURE_V1_LENGTH = 76;

export interface Cosignature {
  readonly name: string;
  readonly keyId: number;
  /** POSIX seconds at which the witness signed. Verifiers MAY reject ones in the future (the caller's clock). */
  readonly timestamp: number;
  readonly signature: Uint8Array;
}

function invalid(message: string, details?: Record<string, unknown>, cause?: unknown): BackchannelError {
  return new BackchannelError('cosignature_invalid', message, {
    ...(cause === undefined ? {} : { cause }),
    ...(details === undefined ? {} : { details }),
  });
}

/**
 * The spec lets timestamps reach 2^63-1; we hold them as numbers and refuse any above 2^53-1
 * (about 285 million years from now: a timestamp in the future, which verifiers MAY reject).
 */
function checkTimestamp(timestamp: number): void {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new BackchannelError('argument_invalid', 'a cosignature timestamp is a safe non-negative integer', {
      details: { timestamp },
    });
  }
}

/** The u64 big-endian timestamp at `off`, or undefined above 2^53-1. */
function readTimestamp(b: Uint8Array, off: number): number | undefined {
  const view = new DataView(b.buffer, b.byteOffset + off, 8);
  const hi = view.getUint32(0);
  if (hi >= 0x200000) return undefined; // 2^53 and above, which includes everything over 2^63-1
  return hi * 0x1_0000_0000 + view.getUint32(4);
}

/** The message an Ed25519 cosigner signs (tlog-cosignature §"Ed25519 signed message"). */
export function encodeCosignedMessage(checkpointText: string, timestamp: number): Uint8Array {
  checkTimestamp(timestamp);
  // String(n) of a safe non-negative integer is the ASCII decimal with no leading zeroes.
  return utf8(`${COSIGNATURE_V1_HEADER}\ntime ${String(timestamp)}\n${checkpointText}`);
}

/** key ID || u64 BE timestamp || signature: the 76 bytes base64-encoded on the signature line. */
export function encodeCosignature(keyId: number, timestamp: number, signature: Uint8Array): Uint8Array {
  checkTimestamp(timestamp);
  if (!Number.isInteger(keyId) || keyId < 0 || keyId > 0xffffffff) throw new BackchannelError('argument_invalid', 'a key ID is a uint32');
  if (signature.length !== 64) throw new BackchannelError('argument_invalid', 'an Ed25519 signature is 64 bytes');
  const out = new Uint8Array(COSIGNATURE_V1_LENGTH);
  const view = new DataView(out.buffer);
  view.setUint32(0, keyId);
  view.setUint32(4, Math.floor(timestamp / 0x1_0000_0000));
  view.setUint32(8, timestamp % 0x1_0000_0000);
  out.set(signature, 12);
  return out;
}

/** Splits a 76-byte cosignature blob. A plain 68-byte Ed25519 note signature is not one. */
export function decodeCosignature(blob: Uint8Array): { keyId: number; timestamp: number; signature: Uint8Array } {
  if (!(blob instanceof Uint8Array)) throw invalid('a cosignature is bytes');
  if (blob.length !== COSIGNATURE_V1_LENGTH) {
    throw invalid(`a cosignature/v1 signature is ${COSIGNATURE_V1_LENGTH} bytes`, { length: blob.length });
  }
  const timestamp = readTimestamp(blob, 4);
  if (timestamp === undefined) throw invalid('cosignature timestamp is beyond 2^53-1');
  return { keyId: new DataView(blob.buffer, blob.byteOffset, 4).getUint32(0), timestamp, signature: blob.slice(12) };
}

/**
 * A witness's cosignature line ("— <name> <base64>\n") over a checkpoint body. The text must
 * be a well-formed checkpoint: a witness never signs anything else under this key.
 */
export function cosignCheckpoint(witnessKey: Ed25519Key, witnessName: string, checkpointText: string, timestamp: number): string {
  parseCheckpoint(checkpointText);
  const { keyId } = deriveVkey(witnessKey, witnessName, SIGNATURE_TYPE_COSIGNATURE_V1);
  const signature = witnessKey.signRaw(encodeCosignedMessage(checkpointText, timestamp));
  const blob = encodeCosignature(keyId, timestamp, signature);
  return formatSignatureLine({ name: witnessName, keyId, signature: blob.subarray(4) });
}

function checkWitnessKey(vkey: Vkey): void {
  if (vkey.type !== SIGNATURE_TYPE_COSIGNATURE_V1) {
    throw new BackchannelError('key_invalid', 'not a cosignature/v1 witness key (type 0x04)', {
      details: { name: vkey.name, type: vkey.type },
    });
  }
}

/** The timestamp and signature of a valid cosignature by `vkey` over `text`, else undefined. */
function checkTimestamped(vkey: Vkey, text: Uint8Array, sig: NoteSignature): Cosignature | undefined {
  // The note signature after the key ID: u64 timestamp || 64-byte Ed25519 signature.
  if (sig.signature.length !== COSIGNATURE_V1_LENGTH - 4) return undefined;
  const timestamp = readTimestamp(sig.signature, 0);
  if (timestamp === undefined) return undefined;
  const signature = sig.signature.slice(8);
  const header = utf8(`${COSIGNATURE_V1_HEADER}\ntime ${String(timestamp)}\n`);
  if (!verifyRaw(vkey.publicKey, concatBytes(header, text), signature)) return undefined;
  return { name: sig.name, keyId: sig.keyId, timestamp, signature };
}

/** A note verifier for a witness's cosignatures, so `openNote` can check them like any other key. */
export function createCosignatureVerifier(vkey: Vkey): NoteVerifier {
  checkWitnessKey(vkey);
  return {
    name: vkey.name,
    keyId: vkey.keyId,
    verify: (text, signature) => checkTimestamped(vkey, text, { name: vkey.name, keyId: vkey.keyId, signature }) !== undefined,
  };
}

/**
 * Verifies one cosignature line ("— <name> <base64>\n", as a witness returns it) by `witness`
 * over the checkpoint body `checkpointText`. Throws 'cosignature_invalid' if the line is
 * malformed, names another key, or does not verify.
 */
export function verifyCosignature(witness: Vkey, checkpointText: string, signatureLine: string): Cosignature {
  checkWitnessKey(witness);
  parseCheckpoint(checkpointText);
  let sig: NoteSignature;
  try {
    const sigs = parseSignatureLines(signatureLine, 1);
    sig = sigs[0]!;
  } catch (cause) {
    if (isBackchannelError(cause)) throw invalid('malformed cosignature line', undefined, cause);
    throw cause;
  }
  if (sig.name !== witness.name || sig.keyId !== witness.keyId) {
    throw invalid('cosignature is by another key', {
      reason: 'key_mismatch',
      key: `${sig.name}+${formatKeyId(sig.keyId)}`,
      expected: `${witness.name}+${formatKeyId(witness.keyId)}`,
    });
  }
  const ok = checkTimestamped(witness, utf8(checkpointText), sig);
  if (ok === undefined) throw invalid(`invalid cosignature by ${witness.name}`, { name: witness.name });
  return ok;
}

/**
 * Checks the signatures of a checkpoint note (e.g. `openCheckpoint(...).note.signatures`)
 * against the trusted witnesses. Lines by unknown keys are ignored (signed-note §Signatures);
 * a line by a known witness that fails is 'cosignature_invalid'. Returns one cosignature per
 * witness that cosigned, for the caller's quorum policy.
 */
export function verifyCosignatures(
  checkpointText: string,
  signatures: readonly NoteSignature[],
  witnesses: readonly Vkey[],
): Cosignature[] {
  parseCheckpoint(checkpointText);
  const known = new Map<string, Vkey>();
  for (const w of witnesses) {
    checkWitnessKey(w);
    const k = `${w.name}+${formatKeyId(w.keyId)}`;
    if (known.has(k)) throw new BackchannelError('key_invalid', `ambiguous witness keys for ${k}`, { details: { key: k } });
    known.set(k, w);
  }
  const text = utf8(checkpointText);
  const found = new Map<string, Cosignature>();
  for (const sig of signatures) {
    const k = `${sig.name}+${formatKeyId(sig.keyId)}`;
    const w = known.get(k);
    if (w === undefined) continue;
    const ok = checkTimestamped(w, text, sig);
    if (ok === undefined) throw invalid(`invalid cosignature by ${k}`, { name: sig.name, keyId: formatKeyId(sig.keyId) });
    if (!found.has(k)) found.set(k, ok);
  }
  return [...found.values()];
}
