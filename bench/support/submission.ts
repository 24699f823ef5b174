/** What a station submits to a relay, for the relay benchmarks. */
import { encodeCbor, sealEnvelope, signSubmissionToken, type NewParty } from '../../packages/core/src/index.js';

/**
 * A submission body as a station sends it: a real ROUTINE consular note from `us` to `ir`
 * (X25519, signed by `us`'s first signer), sealed now, with its submission token for `origin`,
 * CBOR-encoded.
 */
export async function sealSubmission(us: NewParty, ir: NewParty, origin: string, note: { subject: string; body: string }): Promise<Uint8Array> {
  const env = await sealEnvelope({
    from: 'us',
    to: 'ir',
    precedence: 'ROUTINE',
    created: Date.now(),
    content: { kind: 'note', subject: note.subject, body: note.body, category: 'consular', thread: new Uint8Array(16) },
    senderBundle: us.bundle,
    recipientBundle: ir.bundle,
    suite: 'x25519',
    station: us.station.key,
    signer: { key: us.signers[0]!.key, certificate: us.signers[0]!.certificate },
  });
  const token = signSubmissionToken(us.station.key, { origin, party: 'us', digest: env.digest, time: Date.now() });
  return encodeCbor({ envelope: env.bytes, token });
}
