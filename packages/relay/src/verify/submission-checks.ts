/**
 * The two signature checks of a submission (docs/relay-api.md, "POST /v1/submit"; protocol
 * §4.7 check 4 and §5.1), split so that both run in the verification pool (ed25519-pool.ts)
 * and the event loop keeps only the parsing:
 *
 *  - the station signature over CBOR{h, k, c}: its signed bytes are cut from the envelope's
 *    own bytes instead of re-encoded (parseEnvelope has already proved them canonical, and in
 *    canonical order the entry "s" comes last), so no 4 KiB re-encoding per submission;
 *  - the submission token, a Signed wrapper (core signed.ts): core reads its structure
 *    (readSubmissionTokenWrapper), its signature goes to the pool, and only once that verified
 *    does core read its body (openVerifiedSubmissionToken, STYLE.md §4) — the same result and
 *    errors as openSubmissionToken, which a test holds side by side.
 */
import { LABELS, encodeCbor, type InspectedEnvelope, type Label, type SignedWrapper } from '@backchannel/core';
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

/**
 * The signature job of a Signed wrapper read by core (readSigned and the readers built on it:
 * a submission token, a copy acknowledgement), whose body core reads once this verified.
 */
export function wrapperSignatureJob(w: SignedWrapper, label: Label): VerifyJob {
  return { pub: w.key, sig: w.sig, label, parts: [w.bodyBytes] };
}

/** The token's signature job. */
export function tokenSignatureJob(w: SignedWrapper): VerifyJob {
  return wrapperSignatureJob(w, LABELS.submit);
}
