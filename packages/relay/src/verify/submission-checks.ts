/**
 * The two signature checks of a submission (docs/relay-api.md, "POST /v1/submit"; protocol
 * §4.7 check 4 and §5.1), split so that both run in the verification pool (ed25519-pool.ts)
 * and the event loop keeps only the parsing:
 *
 *  - the station signature over CBOR{h, k, c}: its signed bytes are cut from the envelope's
 *    own bytes instead of re-encoded (core's envelopeSignedParts: parseEnvelope has already
 *    proved them canonical, and in canonical order the entry "s" comes last), so no 4 KiB
 *    re-encoding per submission;
 *  - the submission token, a Signed wrapper (core signed.ts): core reads its structure
 *    (readSubmissionTokenWrapper), its signature goes to the pool, and only once that verified
 *    does core read its body (openVerifiedSubmissionToken, STYLE.md §4) — the same result and
 *    errors as openSubmissionToken, which a test holds side by side.
 */
import { LABELS, envelopeSignedParts, type InspectedEnvelope, type Label, type SignedWrapper } from '@backchannel/core';
import type { VerifyJob } from './ed25519-pool.js';

/** The station signature's job: `s` over CBOR{h, k, c}, as core's verifyEnvelopeStation checks it. */
export function stationSignatureJob(env: InspectedEnvelope): VerifyJob {
  return { pub: env.header.station, sig: env.stationSig, label: LABELS.envelope, parts: envelopeSignedParts(env) };
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
