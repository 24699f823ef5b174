/**
 * The submission token (DESIGN.md, "Submitting, receipts, the log"): the station's signature
 * over the relay's log origin, the envelope digest, a time and a nonce. It binds one copy to one
 * relay, so nobody can inject a genuine envelope into another channel; it travels with every
 * delivery, so the recipient can check that the relay it fetched from is the one the sender chose.
 *
 * The token names the envelope by a commitment, SHA-256("backchannel/v1/submit/digest" || 0x00 ||
 * nonce || digest), not by the digest itself: a transmission statement opens tokens so anyone
 * can check them against the party's card, and must not thereby reveal digests, which would link
 * the copies of one envelope across relays (DESIGN.md, "Statements").
 */
import { BackchannelError } from '../errors.js';
import { equalBytes, utf8 } from '../bytes.js';
import type { Ed25519Key } from '../ed25519.js';
import { sha256 } from '../hash.js';
import { LABELS } from '../labels.js';
import { systemRandom, type Random } from '../random.js';
import { MapReader } from '../schema.js';
import { signStructure, signedReader, type Opened, type SignedWrapper } from '../signed.js';
import { PARTY_ID_RE } from '../identity/ids.js';
import { checkFreshness, TOKEN_WINDOW_MS } from './freshness.js';

export interface SubmissionToken {
  origin: string;
  party: string;
  /** Commitment to the envelope digest under the nonce (see above). */
  commit: Uint8Array;
  time: number;
  nonce: Uint8Array;
  /** The station that signed it. */
  station: Uint8Array;
  bytes: Uint8Array;
  /** SHA-256 of the token bytes: what the log leaf commits to. */
  hash: Uint8Array;
}

const COMMIT_LABEL = utf8('backchannel/v1/submit/digest');

export function digestCommitment(nonce: Uint8Array, digest: Uint8Array): Uint8Array {
  return sha256(COMMIT_LABEL, Uint8Array.of(0), nonce, digest);
}

export function signSubmissionToken(
  station: Ed25519Key,
  p: { origin: string; party: string; digest: Uint8Array; time: number; random?: Random },
): Uint8Array {
  const nonce = (p.random ?? systemRandom)(16);
  return signStructure(station, LABELS.submit, {
    v: 1,
    origin: p.origin,
    party: p.party,
    commit: digestCommitment(nonce, p.digest),
    time: p.time,
    nonce,
  });
}

const reader = signedReader(LABELS.submit, 'token_invalid', 1024, tokenOf);

export const openSubmissionToken: (bytes: Uint8Array) => SubmissionToken = reader.open;
/** openSubmissionToken in two steps (signed.ts, signedReader): the wrapper, then the token once its signature over `LABELS.submit || 0x00 || bodyBytes` verified (the relay's pool). */
export const readSubmissionTokenWrapper: (bytes: Uint8Array) => SignedWrapper = reader.read;
export const openVerifiedSubmissionToken: (w: SignedWrapper) => SubmissionToken = reader.openVerified;

function tokenOf(o: Opened): SubmissionToken {
  const r = new MapReader(o.body, 'submission token');
  const v = r.uint('v');
  const t: SubmissionToken = {
    origin: r.text('origin', { max: 255 }),
    party: r.text('party', { pattern: PARTY_ID_RE }),
    commit: r.bytes('commit', { len: 32 }),
    time: r.uint('time'),
    nonce: r.bytes('nonce', { len: 16 }),
    station: o.key,
    bytes: o.bytes,
    hash: sha256(o.bytes),
  };
  if (v !== 1) r.problems.push('submission token.v must be 1');
  r.done('token_invalid');
  return t;
}

/** The checks a relay (at submission) or a recipient (at delivery) makes of a token. */
export function checkSubmissionToken(
  t: SubmissionToken,
  expect: { origin: string; digest: Uint8Array; party: string; station: Uint8Array; now?: number },
): void {
  if (t.origin !== expect.origin) throw new BackchannelError('token_invalid', `token is for log ${t.origin}, not ${expect.origin}`);
  if (!equalBytes(t.commit, digestCommitment(t.nonce, expect.digest))) throw new BackchannelError('token_invalid', 'token is for another envelope');
  if (t.party !== expect.party) throw new BackchannelError('token_invalid', `token is from party ${t.party}, not ${expect.party}`);
  if (!equalBytes(t.station, expect.station)) throw new BackchannelError('token_invalid', 'token is signed by another station than the envelope');
  if (expect.now !== undefined) checkFreshness(t.time, expect.now, TOKEN_WINDOW_MS, 'token_stale', 'submission token');
}
