/**
 * Verifier keys ("vkeys"): the text form in which a note-signing public key is configured,
 *
 *   <key name> "+" <8 lowercase hex digits of the key ID> "+" base64(signature type || public key)
 *
 * as used by C2SP signed-note (golang.org/x/mod/sumdb/note `NewVerifier`) and, with signature
 * type 0x04, by C2SP tlog-cosignature for Ed25519 witness keys.
 *
 * A vkey is operator configuration, not attacker input, but it decides whom we trust, so parsing
 * is strict and every failure is `key_invalid` (a misconfiguration, never confused with a bad
 * signature).
 */
import { concatBytes, fromBase64, fromHex, toBase64, utf8 } from '../bytes.js';
import { assertPublicKey, type Ed25519Key } from '../ed25519.js';
import { BackchannelError } from '../errors.js';
import { sha256 } from '../hash.js';

/** C2SP signed-note §"Signature types": 0x01 is a plain Ed25519 note signature. */
export const SIGNATURE_TYPE_ED25519 = 0x01;
/** C2SP signed-note §"Signature types" / tlog-cosignature: 0x04 is a timestamped Ed25519 cosignature (cosignature/v1). */
export const SIGNATURE_TYPE_COSIGNATURE_V1 = 0x04;

/** The signature types this implementation supports; both carry a 32-byte Ed25519 public key. */
export type SignatureType = typeof SIGNATURE_TYPE_ED25519 | typeof SIGNATURE_TYPE_COSIGNATURE_V1;

export interface Vkey {
  /** The key name, which is also the name on the key's signature lines. */
  readonly name: string;
  /** The uint32 key ID (big-endian first four bytes of the key-ID hash). */
  readonly keyId: number;
  readonly type: SignatureType;
  /** The 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
}

// Key names MUST be non-empty and MUST NOT contain Unicode spaces or '+' (signed-note §Format).
// "Unicode spaces" is Go's unicode.IsSpace, i.e. the White_Space property. We also refuse the
// ASCII control characters (a note may not contain them, so such a name could never sign one)
// and lone surrogates (they have no UTF-8 encoding, so the key ID would be hashed over U+FFFD).
const BAD_NAME_CHAR = /[\p{White_Space}+\p{Cs}]/u;

/** True when `s` contains an ASCII control character (below U+0020) other than those allowed. */
export function hasControlCharacter(s: string, allowNewline: boolean): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 && !(allowNewline && c === 0x0a)) return true;
  }
  return false;
}

/** True when `name` may be used as a note key name (signed-note §Format). */
export function isValidKeyName(name: string): boolean {
  return typeof name === 'string' && name.length > 0 && !BAD_NAME_CHAR.test(name) && !hasControlCharacter(name, false);
}

/** The key ID as 8 lowercase hex digits, the form used in vkeys and error messages. */
export function formatKeyId(keyId: number): string {
  return keyId.toString(16).padStart(8, '0');
}

/**
 * key ID = SHA-256(key name || 0x0A || signature type || public key)[:4], read big-endian
 * (signed-note §Signatures; tlog-cosignature §Format makes it a MUST for type 0x04).
 */
export function computeKeyId(name: string, type: number, publicKey: Uint8Array): number {
  const h = sha256(utf8(name), Uint8Array.of(0x0a, type), publicKey);
  return new DataView(h.buffer, h.byteOffset, 4).getUint32(0);
}

function checkType(type: number): asserts type is SignatureType {
  if (type !== SIGNATURE_TYPE_ED25519 && type !== SIGNATURE_TYPE_COSIGNATURE_V1) {
    throw new BackchannelError('key_invalid', `unsupported note signature type 0x${type.toString(16).padStart(2, '0')}`, {
      details: { type },
    });
  }
}

/** Builds a vkey from its parts, computing the key ID. Rejects bad names and non-strict Ed25519 keys. */
export function createVkey(name: string, type: SignatureType, publicKey: Uint8Array): Vkey {
  if (!isValidKeyName(name)) throw new BackchannelError('key_invalid', 'invalid key name', { details: { name } });
  checkType(type);
  assertPublicKey(publicKey);
  return { name, keyId: computeKeyId(name, type, publicKey), type, publicKey: Uint8Array.from(publicKey) };
}

/** The vkey of an Ed25519 private key under `name`: type 0x01 for a log or note signer, 0x04 for a witness. */
export function deriveVkey(key: Ed25519Key, name: string, type: SignatureType = SIGNATURE_TYPE_ED25519): Vkey {
  return createVkey(name, type, key.publicKey);
}

const KEY_ID_RE = /^[0-9a-f]{8}$/;

/**
 * Parses `<name>+<hex key ID>+<base64(type || key)>`. The name cannot contain '+', so the text
 * splits at its first two '+'; the base64 part may itself contain '+'. The key ID must be the
 * one recomputed from the name and key (as Go's NewVerifier checks), in lowercase hex, so that
 * every key has exactly one vkey and `formatVkey(parseVkey(s)) === s`.
 */
export function parseVkey(text: string): Vkey {
  if (typeof text !== 'string') throw new BackchannelError('key_invalid', 'a vkey is a string');
  const p1 = text.indexOf('+');
  const p2 = p1 < 0 ? -1 : text.indexOf('+', p1 + 1);
  if (p1 < 0 || p2 < 0) throw new BackchannelError('key_invalid', 'a vkey is <name>+<key ID>+<key>');
  const name = text.slice(0, p1);
  const idHex = text.slice(p1 + 1, p2);
  const keyB64 = text.slice(p2 + 1);
  const problems: string[] = [];
  if (!isValidKeyName(name)) problems.push('invalid key name');
  if (!KEY_ID_RE.test(idHex)) problems.push('key ID is not 8 lowercase hex digits');
  let material: Uint8Array | undefined;
  try {
    material = fromBase64(keyB64);
  } catch {
    problems.push('key is not canonical base64');
  }
  if (material?.length === 0) problems.push('key is empty');
  if (problems.length > 0 || material === undefined) {
    throw new BackchannelError('key_invalid', `malformed vkey: ${problems.join('; ')}`, { details: { problems } });
  }
  const type = material[0]!;
  checkType(type);
  const publicKey = material.subarray(1);
  if (publicKey.length !== 32) {
    throw new BackchannelError('key_invalid', 'an Ed25519 vkey carries a 32-byte public key', { details: { length: publicKey.length } });
  }
  assertPublicKey(publicKey);
  const declared = new DataView(fromHex(idHex).buffer).getUint32(0);
  const keyId = computeKeyId(name, type, publicKey);
  if (declared !== keyId) {
    throw new BackchannelError('key_invalid', `vkey key ID ${idHex} does not match the key (expected ${formatKeyId(keyId)})`, {
      details: { declared: idHex, computed: formatKeyId(keyId) },
    });
  }
  return { name, keyId, type, publicKey: Uint8Array.from(publicKey) };
}

export function formatVkey(vkey: Vkey): string {
  return `${vkey.name}+${formatKeyId(vkey.keyId)}+${toBase64(concatBytes(Uint8Array.of(vkey.type), vkey.publicKey))}`;
}
