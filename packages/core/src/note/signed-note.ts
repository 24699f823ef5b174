/**
 * C2SP signed-note (c2sp.org/signed-note): a UTF-8 text signed by one or more keys,
 *
 *   <text ending in "\n"> "\n" ("— " <key name> " " base64(key ID || signature) "\n")+
 *
 * `openNote` verifies BEFORE anyone parses the text (STYLE.md §4): it checks the note's framing,
 * verifies every signature from a known key over the exact text bytes, and only then hands the
 * text out. The whole note is attacker-controlled input.
 *
 * Signature semantics (signed-note §Signatures):
 *  - a signature whose (key name, key ID) matches no known key is ignored, but carried along so
 *    the note can be re-serialized (witness cosignatures, rotated log keys);
 *  - a signature from a known key MUST be verified; if it fails, we reject the whole note
 *    ('signature_invalid'), as the spec recommends, rather than skip it;
 *  - a note with no verified signature from a known key MUST be rejected ('note_unverified').
 */
import { fromBase64, toBase64, utf8 } from '../bytes.js';
import { verifyRaw, type Ed25519Key } from '../ed25519.js';
import { BackchannelError } from '../errors.js';
import {
  SIGNATURE_TYPE_ED25519,
  deriveVkey,
  formatKeyId,
  hasControlCharacter,
  isValidKeyName,
  type Vkey,
} from './vkey.js';

/**
 * The most signature lines we read from one note. signed-note §Format: verifiers MUST accept at
 * least 16; we allow 100 (Go's sumdb/note limit) so a hostile note cannot make us parse forever.
 */
export const MAX_NOTE_SIGNATURES = 100;

/** One signature line of a note, verified or not. */
export interface NoteSignature {
  readonly name: string;
  /** The uint32 key ID: the first four bytes of the decoded signature, big-endian. */
  readonly keyId: number;
  /** The signature proper: the decoded bytes after the key ID (at least one byte). */
  readonly signature: Uint8Array;
}

/** A known key. Matched to signature lines by the (name, key ID) tuple. */
export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  /** Whether `signature` is valid over the exact note text bytes. Must return false, not throw, for a bad signature. */
  verify(text: Uint8Array, signature: Uint8Array): boolean;
}

export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  /** The signature over the exact note text bytes. */
  sign(text: Uint8Array): Uint8Array;
}

export interface OpenedNote {
  /** The note text, including its final newline: verified, not yet parsed. */
  readonly text: string;
  /** The exact bytes the signatures were checked over. */
  readonly textBytes: Uint8Array;
  /** Every signature line, in note order (for re-serialization). */
  readonly signatures: readonly NoteSignature[];
  /** The signatures from known keys, each verified; one per key. */
  readonly verified: readonly NoteSignature[];
  /** The signatures from unknown keys, ignored. */
  readonly unverified: readonly NoteSignature[];
}

const EM_DASH_SPACE = '\u2014 ';
const LONE_SURROGATE = /\p{Cs}/u;
// fatal: invalid UTF-8 throws instead of becoming U+FFFD; ignoreBOM: keep a leading U+FEFF as
// text (the default strips it, and the decoded text would then differ from the signed bytes).
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function malformed(message: string, details?: Record<string, unknown>): BackchannelError {
  return new BackchannelError('note_malformed', message, details === undefined ? undefined : { details });
}

function sigKey(name: string, keyId: number): string {
  // Key names cannot contain '+', so this joins the tuple unambiguously.
  return `${name}+${formatKeyId(keyId)}`;
}

function badArgument(message: string, details?: Record<string, unknown>): BackchannelError {
  return new BackchannelError('argument_invalid', message, details === undefined ? undefined : { details });
}

/**
 * Checks a note text for signing or formatting: it ends in a newline and holds no ASCII control
 * character other than newline (signed-note §Format), and no lone surrogate (not encodable as
 * UTF-8). The text is our caller's, so a failure is 'argument_invalid', never 'note_malformed'.
 */
function checkText(text: string): void {
  if (typeof text !== 'string' || !text.endsWith('\n')) throw badArgument('note text must end in a newline');
  if (hasControlCharacter(text, true)) throw badArgument('note text contains a control character');
  if (LONE_SURROGATE.test(text)) throw badArgument('note text is not valid Unicode');
}

/** Parses one signature line without its newline: "— <name> <base64(key ID || signature)>". */
function parseLine(line: string): NoteSignature {
  if (!line.startsWith(EM_DASH_SPACE)) throw malformed('signature line does not start with "— "');
  const rest = line.slice(EM_DASH_SPACE.length);
  const space = rest.indexOf(' ');
  if (space < 0) throw malformed('signature line has no signature');
  const name = rest.slice(0, space);
  if (!isValidKeyName(name)) throw malformed('signature line has an invalid key name', { name });
  let raw: Uint8Array;
  try {
    raw = fromBase64(rest.slice(space + 1));
  } catch (cause) {
    throw new BackchannelError('note_malformed', 'signature is not canonical base64', { cause, details: { name } });
  }
  // 4 bytes of key ID and at least one byte of signature.
  if (raw.length < 5) throw malformed('signature is too short', { name });
  const keyId = new DataView(raw.buffer, raw.byteOffset, 4).getUint32(0);
  return { name, keyId, signature: raw.slice(4) };
}

/**
 * Parses a block of signature lines, each ending in "\n" (the tail of a note, or a tlog-witness
 * add-checkpoint response body). Attacker-controlled; 'note_malformed' or 'too_large'.
 */
export function parseSignatureLines(block: string, maxSignatures: number = MAX_NOTE_SIGNATURES): NoteSignature[] {
  if (typeof block !== 'string' || block.length === 0 || !block.endsWith('\n')) {
    throw malformed('signature lines must be non-empty and end in a newline');
  }
  if (hasControlCharacter(block, true) || LONE_SURROGATE.test(block)) throw malformed('signature lines contain a control character');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > maxSignatures) {
    throw new BackchannelError('too_large', `note has more than ${maxSignatures} signatures`, { details: { count: lines.length } });
  }
  return lines.map(parseLine);
}

export function formatSignatureLine(sig: NoteSignature): string {
  if (!isValidKeyName(sig.name)) throw badArgument('invalid key name', { name: sig.name });
  if (!Number.isInteger(sig.keyId) || sig.keyId < 0 || sig.keyId > 0xffffffff) throw badArgument('a key ID is a uint32');
  if (sig.signature.length === 0) throw badArgument('empty signature');
  const raw = new Uint8Array(4 + sig.signature.length);
  new DataView(raw.buffer).setUint32(0, sig.keyId);
  raw.set(sig.signature, 4);
  return `${EM_DASH_SPACE}${sig.name} ${toBase64(raw)}\n`;
}

/** Serializes a note from its text and signature lines (in the given order). */
export function formatNote(text: string, signatures: readonly NoteSignature[]): string {
  checkText(text);
  if (signatures.length === 0) throw badArgument('a signed note has at least one signature');
  if (signatures.length > MAX_NOTE_SIGNATURES) {
    throw badArgument(`more than ${MAX_NOTE_SIGNATURES} signatures`, { count: signatures.length });
  }
  return `${text}\n${signatures.map(formatSignatureLine).join('')}`;
}

/** A signer making plain Ed25519 note signatures (type 0x01) under `name`. */
export function createNoteSigner(key: Ed25519Key, name: string): NoteSigner {
  const { keyId } = deriveVkey(key, name, SIGNATURE_TYPE_ED25519);
  return { name, keyId, sign: (text) => key.signRaw(text) };
}

/** A verifier for plain Ed25519 note signatures (type 0x01): RFC 8032 over the note text. */
export function createNoteVerifier(vkey: Vkey): NoteVerifier {
  if (vkey.type !== SIGNATURE_TYPE_ED25519) {
    throw new BackchannelError('key_invalid', 'not an Ed25519 note key (type 0x01)', { details: { name: vkey.name, type: vkey.type } });
  }
  const { publicKey } = vkey;
  return {
    name: vkey.name,
    keyId: vkey.keyId,
    // A known key's signature of the wrong length is a failed signature, not a malformed note.
    verify: (text, signature) => signature.length === 64 && verifyRaw(publicKey, text, signature),
  };
}

/**
 * Signs `text` with every signer. Existing signatures in `keep` are kept first, except those by
 * a key that signs again here (as golang.org/x/mod/sumdb/note `Sign` does).
 */
export function signNote(text: string, signers: readonly NoteSigner[], keep: readonly NoteSignature[] = []): string {
  checkText(text);
  const textBytes = utf8(text);
  const resigned = new Set(signers.map((s) => sigKey(s.name, s.keyId)));
  const kept = keep.filter((s) => !resigned.has(sigKey(s.name, s.keyId)));
  const fresh = signers.map((s): NoteSignature => ({ name: s.name, keyId: s.keyId, signature: s.sign(textBytes) }));
  return formatNote(text, [...kept, ...fresh]);
}

function toNoteBytes(note: string | Uint8Array): Uint8Array {
  if (typeof note === 'string') {
    // A lone surrogate would silently become U+FFFD in UTF-8, changing the bytes under the signature.
    if (LONE_SURROGATE.test(note)) throw malformed('note is not valid Unicode');
    return utf8(note);
  }
  if (note instanceof Uint8Array) return note;
  throw malformed('a note is a string or bytes');
}

function indexVerifiers(verifiers: readonly NoteVerifier[]): Map<string, NoteVerifier> {
  const known = new Map<string, NoteVerifier>();
  for (const v of verifiers) {
    const k = sigKey(v.name, v.keyId);
    // Two keys with one (name, key ID) make every match ambiguous. That is our configuration's
    // fault, not the note's, so it is reported as such.
    if (known.has(k)) throw new BackchannelError('key_invalid', `ambiguous verifiers for ${k}`, { details: { key: k } });
    known.set(k, v);
  }
  return known;
}

/**
 * Verifies a signed note against the known keys and returns its text. Throws 'note_malformed'
 * for framing errors, 'too_large' past MAX_NOTE_SIGNATURES, 'signature_invalid' when a known
 * key's signature fails, and 'note_unverified' when no known key signed it.
 */
export function openNote(note: string | Uint8Array, verifiers: readonly NoteVerifier[]): OpenedNote {
  const known = indexVerifiers(verifiers);
  const bytes = toNoteBytes(note);

  // signed-note §Format: valid UTF-8, no ASCII control character but newline. In UTF-8 every
  // byte below 0x20 is that ASCII character, so a byte scan is exact.
  for (const b of bytes) {
    if (b < 0x20 && b !== 0x0a) throw malformed('note contains a control character');
  }
  let whole: string;
  try {
    whole = strictUtf8.decode(bytes);
  } catch (cause) {
    throw new BackchannelError('note_malformed', 'note is not valid UTF-8', { cause });
  }

  // "The text is separated from the signatures by the last empty line in the note." The text
  // keeps its final newline; the blank line belongs to neither part.
  let split = -1;
  for (let i = bytes.length - 2; i >= 0; i--) {
    if (bytes[i] === 0x0a && bytes[i + 1] === 0x0a) {
      split = i;
      break;
    }
  }
  if (split < 0) throw malformed('note has no blank line before its signatures');
  const textBytes = bytes.slice(0, split + 1);
  // A 0x0a byte in UTF-8 is always a newline, so the string's last "\n\n" is the same cut.
  const cut = whole.lastIndexOf('\n\n');
  const text = whole.slice(0, cut + 1);
  const signatures = parseSignatureLines(whole.slice(cut + 2));

  const verified: NoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  const seen = new Set<string>();
  for (const sig of signatures) {
    const k = sigKey(sig.name, sig.keyId);
    const v = known.get(k);
    if (v === undefined) {
      unverified.push(sig);
      continue;
    }
    // Every signature from a known key is checked, repeats included: a bad one rejects the note.
    if (!v.verify(textBytes, sig.signature)) {
      throw new BackchannelError('signature_invalid', `invalid signature for key ${k}`, {
        details: { name: sig.name, keyId: formatKeyId(sig.keyId) },
      });
    }
    if (!seen.has(k)) {
      seen.add(k);
      verified.push(sig);
    }
  }
  if (verified.length === 0) {
    throw new BackchannelError('note_unverified', 'note has no signature from a known key', {
      details: { signers: unverified.map((s) => sigKey(s.name, s.keyId)) },
    });
  }
  return { text, textBytes, signatures, verified, unverified };
}
