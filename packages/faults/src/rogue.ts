/**
 * The compromised relay's rewriting: it alters the envelopes it hands out and, holding the
 * relay's log key, signs delivery records for the altered bytes, exactly as a real compromised
 * relay would. It cannot forge the sending station's signature, so every altered copy is an
 * invalid copy the recipient can prove, with a relay-signed record as evidence.
 */
import { decodeCbor, encodeCbor, parseEnvelope, openCopyAck, sha256, signDeliveryRecord, toHex, type CborMap, type CborValue, type Ed25519Key } from '@backchannel/core';

export interface RogueIdentity {
  logKey: Ed25519Key;
  origin: string;
}

/** Flips one byte of the content ciphertext: same size, same header, a different digest. */
export function alterEnvelope(bytes: Uint8Array): Uint8Array {
  const env = parseEnvelope(bytes);
  const out = Uint8Array.from(bytes);
  // Flip a byte in the middle of the content ciphertext: never in the header or a signature.
  const start = Buffer.from(bytes).indexOf(Buffer.from(env.ciphertext.subarray(0, 32)));
  const at = start + Math.floor(env.ciphertext.length / 2);
  out[at] = out[at]! ^ 0x5a;
  return out;
}

export class Rogue {
  readonly #id: RogueIdentity;
  /** Altered digest (hex) → the original envelope's submission details, for signing records. */
  readonly altered = new Map<string, { original: Uint8Array; altered: Uint8Array }>();

  constructor(id: RogueIdentity) {
    this.#id = id;
  }

  /** Rewrites a fetch response body `{items: [{envelope, …}], …}`; other bodies pass unchanged. */
  rewriteFetch(body: Uint8Array): Uint8Array {
    const v = decodeCbor(body) as CborMap;
    const items = v.items;
    if (!Array.isArray(items)) return body;
    const out = items.map((it): CborValue => {
      const item = it as CborMap;
      const env = item.envelope;
      if (!(env instanceof Uint8Array)) return item;
      const altered = alterEnvelope(env);
      this.altered.set(toHex(sha256(altered)), { original: env, altered });
      return { ...item, envelope: altered };
    });
    return encodeCbor({ ...v, items: out });
  }

  /** True when an ack request body refers to a copy this rogue altered. */
  touchesAltered(ackBody: Uint8Array): boolean {
    try {
      const v = decodeCbor(ackBody) as CborMap;
      const acks = v.acks;
      return Array.isArray(acks) && acks.some((a) => a instanceof Uint8Array && this.altered.has(toHex(openCopyAck(a).digest)));
    } catch {
      return false;
    }
  }

  /** Answers an ack request itself: relay-signed delivery records for the altered bytes. */
  answerAcks(ackBody: Uint8Array, now: number): Uint8Array {
    const v = decodeCbor(ackBody) as CborMap;
    const acks = (v.acks as Uint8Array[]).map((a) => openCopyAck(a));
    const records = acks.flatMap((a) => {
      const copy = this.altered.get(toHex(a.digest));
      if (copy === undefined) return [];
      const env = parseEnvelope(copy.original);
      return [{
        record: signDeliveryRecord(this.#id.logKey, {
          origin: this.#id.origin,
          from: a.from,
          to: env.header.to,
          id: a.id,
          digest: a.digest,
          index: 0,
          submitted: env.header.created,
          delivered: now,
          desk: a.station,
        }),
        // A compromised relay cannot produce an inclusion proof for a record it never logged.
        receipt: '',
      }];
    });
    return encodeCbor({ records });
  }
}
