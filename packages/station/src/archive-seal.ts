/**
 * Recovering the signer's content signature for a thread archive (docs/protocol.md §7.1). The
 * store keeps a note's content and signer certificate but not the signature, which travels
 * inside the ciphertext (§4.3). At export, with the party's encryption private keys, the
 * envelope is opened again with the core's openEnvelope (every check of §4.7, judged at the
 * note's creation), so the archive can prove the content against the header digest with no key.
 */
import { encryptionKeyId, equalBytes, openEnvelope, parseEnvelope, type SignedBundle, type SuiteName } from '@backchannel/core';

export interface EncryptionKeyHeld {
  suite: SuiteName;
  pub: Uint8Array;
  priv: Uint8Array;
}

/** The signer's 64-byte signature sealed inside `envelope`, or undefined when no key held opens it. */
export async function recoverContentSignature(
  envelope: Uint8Array,
  party: string,
  keys: readonly EncryptionKeyHeld[],
  senderBundle: SignedBundle | undefined,
): Promise<Uint8Array | undefined> {
  if (senderBundle === undefined) return undefined;
  try {
    const opened = await openEnvelope(envelope, {
      self: party,
      privateKeyFor: (kid, suite) => keys.find((k) => k.suite === suite && equalBytes(encryptionKeyId(k.pub), kid))?.priv,
      senderBundle,
      judgedAt: parseEnvelope(envelope).header.created,
    });
    return opened.signerSignature;
  } catch {
    return undefined;
  }
}
