/**
 * The two signature checks of a submission (docs/relay-api.md, "POST /v1/submit"; protocol
 * §4.7 check 4 and §5.1), split so that both run in the verification pool (ed25519-pool.ts)
 * and the event loop keeps only the parsing:
 *
 *  - the station signature over CBOR{h, k, c}: its signed bytes are cut from the envelope's
 *    own bytes instead of re-encoded (parseEnvelope has already proved them canonical, and in
 *    canonical order the entry "s" comes last), so no 4 KiB re-encoding per submission;
 *  - the submission token, a Signed wrapper (core signed.ts): its structure is read here, its
 *    signature goes to the pool, and only once that verified is its body parsed (STYLE.md §4).
 *    The result is exactly core's openSubmissionToken's; a test holds the two side by side.
 */
import {
  BackchannelError,
  LABELS,
  PARTY_ID_RE,
  decodeCbor,
  encodeCbor,
  isStrictPublicKey,
  sha256,
  type CborMap,
  type CborValue,
  type InspectedEnvelope,
  type SubmissionToken,
} from '@backchannel/core';
import type { VerifyJob } from './ed25519-pool.js';

// The last entry of a canonical envelope map: text "s" (0x61 0x73), then bstr(64) (0x58 0x40).
const S_ENTRY_HEAD = [0x61, 0x73, 0x58, 0x40] as const;
const S_ENTRY_BYTES = 4 + 64;
const MAP3 = Uint8Array.of(0xa3);
const MAP4 = 0xa4;

/** The station signature's job: `s` over CBOR{h, k, c}, as core's verifyEnvelopeStation checks it. */
export function stationSignatureJob(env: InspectedEnvelope): VerifyJob {
  const b = env.bytes;
  const tail = b.length - S_ENTRY_BYTES;
  let parts: Uint8Array[];
  if (b[0] === MAP4 && tail > 1 && S_ENTRY_HEAD.every((x, i) => b[tail + i] === x)) {
    // {c, h, k, s} minus its last entry is {c, h, k}: the same entries under a 3-entry map head.
    parts = [MAP3, b.subarray(1, tail)];
  } else {
    // Not reached for an envelope that parseEnvelope accepted; kept so the check never depends on it.
    parts = [encodeCbor({ h: env.headerBytes, k: env.slots.map((s) => ({ p: s.party, kid: s.kid, e: s.enc, c: s.ct })), c: env.ciphertext })];
  }
  return { pub: env.header.station, sig: env.stationSig, label: LABELS.envelope, parts };
}

/** A token's Signed wrapper, structure checked, signature not yet. */
export interface TokenWrapper {
  body: Uint8Array;
  key: Uint8Array;
  sig: Uint8Array;
  bytes: Uint8Array;
}

const TOKEN_MAX_BYTES = 1024;

function isMap(v: CborValue): v is CborMap {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** Collects every problem of a decoded map (as core's MapReader does) and throws them at once. */
class Fields {
  readonly problems: string[] = [];
  readonly #m: CborMap;
  readonly #what: string;
  readonly #known: readonly string[];

  constructor(v: CborValue, what: string, known: readonly string[]) {
    this.#what = what;
    this.#known = known;
    if (isMap(v)) this.#m = v;
    else {
      this.#m = {};
      this.problems.push(`${what} is not a map`);
    }
  }

  #get(key: string): CborValue | undefined {
    if (!Object.hasOwn(this.#m, key)) {
      this.problems.push(`${this.#what}.${key} is missing`);
      return undefined;
    }
    return this.#m[key];
  }

  bytes(key: string, len?: number): Uint8Array {
    const v = this.#get(key);
    if (v === undefined) return new Uint8Array(0);
    if (!(v instanceof Uint8Array)) {
      this.problems.push(`${this.#what}.${key} must be a byte string`);
      return new Uint8Array(0);
    }
    if (len !== undefined && v.length !== len) this.problems.push(`${this.#what}.${key} must be ${len} bytes (got ${v.length})`);
    return v;
  }

  text(key: string, o: { max?: number; pattern?: RegExp }): string {
    const v = this.#get(key);
    if (v === undefined) return '';
    if (typeof v !== 'string') {
      this.problems.push(`${this.#what}.${key} must be text`);
      return '';
    }
    if (o.max !== undefined && v.length > o.max) this.problems.push(`${this.#what}.${key} must be at most ${o.max} characters`);
    if (o.pattern !== undefined && !o.pattern.test(v)) this.problems.push(`${this.#what}.${key} must be text matching ${String(o.pattern)}`);
    return v;
  }

  uint(key: string): number {
    const v = this.#get(key);
    if (v === undefined) return 0;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      this.problems.push(`${this.#what}.${key} must be an integer from 0 to ${Number.MAX_SAFE_INTEGER}`);
      return 0;
    }
    return v;
  }

  done(): void {
    for (const k of Object.keys(this.#m)) if (!this.#known.includes(k)) this.problems.push(`${this.#what}.${k} is not a known field`);
    if (this.problems.length > 0) {
      throw new BackchannelError('token_invalid', `invalid ${this.#what}: ${this.problems.join('; ')}`, { details: { problems: [...this.problems] } });
    }
  }
}

/** Reads a token's Signed wrapper {b, k, s} and checks its key is a strict Ed25519 key; throws token_invalid (or the CBOR error). */
export function readTokenWrapper(bytes: Uint8Array): TokenWrapper {
  const f = new Fields(decodeCbor(bytes, TOKEN_MAX_BYTES), 'signed structure', ['b', 'k', 's']);
  const body = f.bytes('b');
  const key = f.bytes('k', 32);
  const sig = f.bytes('s', 64);
  f.done();
  if (!isStrictPublicKey(key)) throw new BackchannelError('token_invalid', 'signed structure names an invalid key');
  return { body, key, sig, bytes };
}

export function tokenSignatureJob(w: TokenWrapper): VerifyJob {
  return { pub: w.key, sig: w.sig, label: LABELS.submit, parts: [w.body] };
}

/** The token's body, read once its signature has verified. */
export function readTokenBody(w: TokenWrapper): SubmissionToken {
  const f = new Fields(decodeCbor(w.body, TOKEN_MAX_BYTES), 'submission token', ['v', 'origin', 'party', 'commit', 'time', 'nonce']);
  const v = f.uint('v');
  const t: SubmissionToken = {
    origin: f.text('origin', { max: 255 }),
    party: f.text('party', { pattern: PARTY_ID_RE }),
    commit: f.bytes('commit', 32),
    time: f.uint('time'),
    nonce: f.bytes('nonce', 16),
    station: w.key,
    bytes: w.bytes,
    hash: sha256(w.bytes),
  };
  if (v !== 1) f.problems.push('submission token.v must be 1');
  f.done();
  return t;
}
