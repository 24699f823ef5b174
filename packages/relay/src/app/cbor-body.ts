/**
 * Station bodies are deterministic CBOR (docs/relay-api.md, "Conventions"). The parser keeps
 * the exact bytes (signed requests hash them) and decodes strictly: malformed or non-canonical
 * CBOR is refused here, before any handler runs. It is the only body parser the relay has:
 * anything else is 415.
 */
import { cborHead, cborText, concatBytes, decodeCbor, encodeCbor, type CborMap } from '@backchannel/core';
import type { FastifyInstance, FastifyReply } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** The exact body bytes, for signed requests' body hash; empty when there was no body. */
    rawBody: Uint8Array | undefined;
  }
}

export const CBOR = 'application/cbor';

// A submission body in deterministic CBOR is exactly: map(2), "token", bstr, "envelope", bstr
// (keys in RFC 8949 §4.2.1 order). It is the relay's hottest body, so it is read in place:
// the two byte strings are views of the request, not copies, and nothing is re-encoded.
const TOKEN_KEY = Uint8Array.of(0xa2, 0x65, 0x74, 0x6f, 0x6b, 0x65, 0x6e);
const ENVELOPE_KEY = Uint8Array.of(0x68, 0x65, 0x6e, 0x76, 0x65, 0x6c, 0x6f, 0x70, 0x65);

/** A byte string's head at `at`, in its shortest form only: [start, end) of its content, or undefined. */
function shortestBytes(b: Uint8Array, at: number): [number, number] | undefined {
  const ib = b[at];
  if (ib === undefined || ib >> 5 !== 2) return undefined;
  const info = ib & 0x1f;
  let len: number;
  let start: number;
  if (info < 24) [len, start] = [info, at + 1];
  else if (info === 24 && at + 2 <= b.length) [len, start] = [b[at + 1]!, at + 2];
  else if (info === 25 && at + 3 <= b.length) [len, start] = [(b[at + 1]! << 8) | b[at + 2]!, at + 3];
  else if (info === 26 && at + 5 <= b.length) [len, start] = [((b[at + 1]! << 24) >>> 0) + ((b[at + 2]! << 16) | (b[at + 3]! << 8) | b[at + 4]!), at + 5];
  else return undefined;
  const min = info === 24 ? 24 : info === 25 ? 256 : info === 26 ? 65536 : 0;
  if (len < min || start + len > b.length) return undefined;
  return [start, start + len];
}

function startsWith(b: Uint8Array, at: number, prefix: Uint8Array): boolean {
  if (at + prefix.length > b.length) return false;
  for (let i = 0; i < prefix.length; i++) if (b[at + i] !== prefix[i]) return false;
  return true;
}

/**
 * `{ token, envelope }` when `b` is exactly its deterministic encoding, else undefined (the
 * general decoder then gives the value or the precise error). Whatever this accepts,
 * decodeCbor accepts with the same value.
 */
export function readSubmitBody(b: Uint8Array): { token: Uint8Array; envelope: Uint8Array } | undefined {
  if (!startsWith(b, 0, TOKEN_KEY)) return undefined;
  const t = shortestBytes(b, TOKEN_KEY.length);
  if (t === undefined || !startsWith(b, t[1], ENVELOPE_KEY)) return undefined;
  const e = shortestBytes(b, t[1] + ENVELOPE_KEY.length);
  if (e?.[1] !== b.length) return undefined;
  return { token: b.subarray(t[0], t[1]), envelope: b.subarray(e[0], e[1]) };
}

export function registerCborBody(app: FastifyInstance): void {
  app.decorateRequest('rawBody', undefined);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(CBOR, { parseAs: 'buffer' }, (req, body, done) => {
    const bytes = new Uint8Array((body as Buffer).buffer, (body as Buffer).byteOffset, (body as Buffer).byteLength);
    req.rawBody = bytes;
    try {
      done(null, readSubmitBody(bytes) ?? decodeCbor(bytes, bytes.length));
    } catch (e) {
      done(e as Error, undefined);
    }
  });
}

export function sendCbor(reply: FastifyReply, value: CborMap): FastifyReply {
  const b = encodeCbor(value);
  return reply.type(CBOR).send(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

const MAP3 = Uint8Array.of(0xa3);
const TRUE = Uint8Array.of(0xf5);
const FALSE = Uint8Array.of(0xf4);
const KEY_INDEX = concatBytes(...cborText('index'));
const KEY_RECEIPT = concatBytes(...cborText('receipt'));
const KEY_DUPLICATE = concatBytes(...cborText('duplicate'));

/**
 * The submit answer `{index, receipt, duplicate}` in deterministic CBOR, written directly: the
 * relay's most frequent reply, so it skips the general encoder's checks and map sorting. The
 * bytes are encodeCbor's (keys in §4.2.1 order; tested).
 */
export function encodeSubmitResponse(index: number, receipt: string, duplicate: boolean): Buffer {
  if (!Number.isSafeInteger(index) || index < 0) return Buffer.from(encodeCbor({ index, receipt, duplicate }));
  const b = concatBytes(MAP3, KEY_INDEX, cborHead(0, index), KEY_RECEIPT, ...cborText(receipt), KEY_DUPLICATE, duplicate ? TRUE : FALSE);
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
