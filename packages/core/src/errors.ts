/**
 * One error class for the whole protocol core, with a closed set of stable codes.
 *
 * Codes are part of the public contract: the CLI prints them in `--json` errors, the relay
 * maps them to HTTP statuses, and tests assert them. Add codes; never rename or reuse one.
 */
export const ERROR_CODES = [
  // Encoding
  'cbor_malformed', // not well-formed CBOR, trailing bytes, indefinite lengths, etc.
  'cbor_non_canonical', // well-formed but not the deterministic encoding
  'schema_invalid', // well-formed but a field is missing, unknown, of the wrong type or out of range
  'version_unsupported',
  'too_large',
  'encoding_invalid', // base64/hex/text that is not what the format requires
  // Keys and signatures
  'key_invalid',
  'signature_invalid',
  'label_invalid',
  // Identities
  'bundle_invalid',
  'bundle_stale', // a bundle older than (or equal in sequence to but different from) the one held
  'root_mismatch', // a key change not signed by the pinned root
  'fingerprint_mismatch',
  'card_invalid',
  'certificate_invalid',
  'certificate_expired',
  'key_revoked',
  'key_unknown',
  // Envelopes
  'envelope_invalid',
  'decrypt_failed',
  'suite_unsupported',
  'padding_invalid',
  'not_for_us',
  // Transparency log
  'proof_invalid',
  'root_mismatch_proof', // computed root differs from the expected one
  'index_out_of_range',
  'note_malformed',
  'note_unverified', // no known key signed the note
  'checkpoint_malformed',
  'checkpoint_inconsistent',
  'cosignature_invalid',
  'receipt_invalid',
  'commitment_mismatch',
  'tile_invalid',
  // Requests and tokens
  'token_invalid',
  'token_stale',
  'request_invalid',
  'request_stale',
  // Programming and configuration errors (a caller broke a documented precondition; never
  // produced from attacker-controlled input, so it must not be reported as an attack)
  'argument_invalid',
  // Secrets at rest
  'passphrase_wrong',
  'keyfile_invalid',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class BackchannelError extends Error {
  override readonly name = 'BackchannelError';
  readonly code: ErrorCode;
  /** Extra structured detail (field names, expected/actual values). Never secret material. */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options?.details;
  }
}

export function isBackchannelError(e: unknown, code?: ErrorCode): e is BackchannelError {
  return e instanceof BackchannelError && (code === undefined || e.code === code);
}

/** Throws a BackchannelError when the condition is false. */
export function check(cond: boolean, code: ErrorCode, message: string, details?: Record<string, unknown>): asserts cond {
  if (!cond) throw new BackchannelError(code, message, details === undefined ? undefined : { details });
}
