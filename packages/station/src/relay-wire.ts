/**
 * The relay API's bodies (docs/relay-api.md): what the station sends, and strict readers for
 * what relays answer. Everything a relay answers is attacker-controlled (any one relay may be
 * malicious): decoded with the core's canonical CBOR decoder, then every field checked, every
 * problem named at once (STYLE.md §6) as `relay_response_invalid`. Nothing here trusts what it
 * reads; the station verifies signatures and proofs afterwards.
 */
import { decodeCbor, encodeCbor, fromBase64, type CborValue } from '@backchannel/core';
import { StationError } from './errors.js';

export interface SubmitAnswer {
  index: number;
  receipt: string;
  duplicate: boolean;
}

export interface FetchItem {
  seq: number;
  envelope: Uint8Array;
  token: Uint8Array;
  receipt: string;
  received: number;
}

export interface Page<T> {
  items: T[];
  next: number;
  more: boolean;
}

export interface AckRecord {
  record: Uint8Array;
  receipt: string;
}

export interface DeliveryItem {
  seq: number;
  record: Uint8Array;
  receipt: string;
}

/** Reads one map of a relay's answer, collecting problems instead of stopping at the first. */
class Reader {
  readonly problems: string[];
  readonly #m: Record<string, unknown>;
  readonly #path: string;

  constructor(v: unknown, path: string, problems: string[] = []) {
    this.problems = problems;
    this.#path = path;
    if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) {
      problems.push(`${path} is not a map`);
      this.#m = {};
    } else {
      this.#m = v as Record<string, unknown>;
    }
  }

  uint(k: string): number {
    const v = this.#m[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      this.problems.push(`${this.#path}.${k} is not an unsigned integer`);
      return 0;
    }
    return v;
  }

  bytes(k: string): Uint8Array {
    const v = this.#m[k];
    if (!(v instanceof Uint8Array)) {
      this.problems.push(`${this.#path}.${k} is not a byte string`);
      return new Uint8Array(0);
    }
    return v;
  }

  text(k: string, max = 1 << 20): string {
    const v = this.#m[k];
    if (typeof v !== 'string' || v.length > max) {
      this.problems.push(`${this.#path}.${k} is not a text string`);
      return '';
    }
    return v;
  }

  bool(k: string): boolean {
    const v = this.#m[k];
    if (typeof v !== 'boolean') {
      this.problems.push(`${this.#path}.${k} is not a boolean`);
      return false;
    }
    return v;
  }

  array<T>(k: string, each: (x: unknown, path: string, problems: string[]) => T, max: number): T[] {
    const v = this.#m[k];
    if (!Array.isArray(v) || v.length > max) {
      this.problems.push(`${this.#path}.${k} is not an array of at most ${max}`);
      return [];
    }
    return v.map((x, i) => each(x, `${this.#path}.${k}[${i}]`, this.problems));
  }

  done(what: string): void {
    if (this.problems.length > 0) {
      throw new StationError('relay_response_invalid', `the relay's ${what} answer is malformed: ${this.problems.join('; ')}`, { details: { problems: this.problems } });
    }
  }
}

/** Largest CBOR answer decoded: a fetch page of envelopes (the client asks for few enough to fit). */
export const MAX_CBOR_ANSWER = 64 * 1024 * 1024;

function decode(bytes: Uint8Array, what: string): CborValue {
  try {
    return decodeCbor(bytes, MAX_CBOR_ANSWER);
  } catch (cause) {
    throw new StationError('relay_response_invalid', `the relay's ${what} answer is not canonical CBOR`, { cause });
  }
}

export function encodeSubmit(envelope: Uint8Array, token: Uint8Array): Uint8Array {
  return encodeCbor({ envelope, token });
}

export function readSubmitAnswer(body: Uint8Array): SubmitAnswer {
  const r = new Reader(decode(body, 'submit'), 'submit');
  const a = { index: r.uint('index'), receipt: r.text('receipt'), duplicate: r.bool('duplicate') };
  r.done('submit');
  return a;
}

export function encodeBundle(bundle: Uint8Array): Uint8Array {
  return encodeCbor({ bundle });
}

export function readBundleAnswer(body: Uint8Array): Uint8Array {
  const r = new Reader(decode(body, 'bundle'), 'bundle');
  const b = r.bytes('bundle');
  r.done('bundle');
  return b;
}

export function readBundlePostAnswer(body: Uint8Array): { party: string; seq: number } {
  const r = new Reader(decode(body, 'bundle'), 'bundle');
  const a = { party: r.text('party', 64), seq: r.uint('seq') };
  r.done('bundle');
  return a;
}

export function encodePage(after: number, limit: number): Uint8Array {
  return encodeCbor({ after, limit });
}

function readFetchItem(x: unknown, path: string, problems: string[]): FetchItem {
  const r = new Reader(x, path, problems);
  return { seq: r.uint('seq'), envelope: r.bytes('envelope'), token: r.bytes('token'), receipt: r.text('receipt'), received: r.uint('received') };
}

export function readFetchAnswer(body: Uint8Array): Page<FetchItem> {
  const r = new Reader(decode(body, 'fetch'), 'fetch');
  const page = { items: r.array('items', readFetchItem, 500), next: r.uint('next'), more: r.bool('more') };
  r.done('fetch');
  return page;
}

export function encodeAcks(acks: readonly Uint8Array[]): Uint8Array {
  return encodeCbor({ acks: [...acks] });
}

export function readAckAnswer(body: Uint8Array): AckRecord[] {
  const r = new Reader(decode(body, 'ack'), 'ack');
  const records = r.array(
    'records',
    (x, path, problems) => {
      const m = new Reader(x, path, problems);
      return { record: m.bytes('record'), receipt: m.text('receipt') };
    },
    500,
  );
  r.done('ack');
  return records;
}

function readDeliveryItem(x: unknown, path: string, problems: string[]): DeliveryItem {
  const r = new Reader(x, path, problems);
  return { seq: r.uint('seq'), record: r.bytes('record'), receipt: r.text('receipt') };
}

export function readDeliveriesAnswer(body: Uint8Array): Page<DeliveryItem> {
  const r = new Reader(decode(body, 'deliveries'), 'deliveries');
  const page = { items: r.array('items', readDeliveryItem, 500), next: r.uint('next'), more: r.bool('more') };
  r.done('deliveries');
  return page;
}

function readJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new StationError('relay_response_invalid', `the relay's ${what} answer is not JSON`, { cause });
  }
}

function readHashes(v: unknown, path: string, problems: string[]): Uint8Array[] {
  if (!Array.isArray(v) || v.length > 64) {
    problems.push(`${path} is not an array of at most 64 hashes`);
    return [];
  }
  return v.map((h, i) => {
    try {
      if (typeof h !== 'string') throw new Error('not a string');
      const b = fromBase64(h);
      if (b.length !== 32) throw new Error('not 32 bytes');
      return b;
    } catch {
      problems.push(`${path}[${i}] is not the base64 of a 32-byte hash`);
      return new Uint8Array(32);
    }
  });
}

export function readInclusionAnswer(text: string, leafIndex: number, treeSize: number): Uint8Array[] {
  const v = readJson(text, 'inclusion proof');
  const problems: string[] = [];
  const m = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  if (m.leaf_index !== leafIndex) problems.push(`leaf_index is not ${leafIndex}`);
  if (m.tree_size !== treeSize) problems.push(`tree_size is not ${treeSize}`);
  const path = readHashes(m.inclusion_path, 'inclusion_path', problems);
  if (problems.length > 0) throw new StationError('relay_response_invalid', `the relay's inclusion proof answer is malformed: ${problems.join('; ')}`, { details: { problems } });
  return path;
}

export function readConsistencyAnswer(text: string): Uint8Array[] {
  const v = readJson(text, 'consistency proof');
  const problems: string[] = [];
  const m = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  const path = readHashes(m.consistency_path, 'consistency_path', problems);
  if (problems.length > 0) throw new StationError('relay_response_invalid', `the relay's consistency proof answer is malformed: ${problems.join('; ')}`, { details: { problems } });
  return path;
}

export type PushFrame =
  | { type: 'envelope'; item: FetchItem }
  | { type: 'delivery'; item: DeliveryItem }
  | { type: 'ping'; time: number }
  | { type: 'error'; code: string; message: string };

/** One binary frame of GET /v1/push (docs/relay-api.md). */
export function readPushFrame(body: Uint8Array): PushFrame {
  const v = decode(body, 'push');
  const r = new Reader(v, 'push');
  const type = r.text('type', 16);
  const m = v as Record<string, unknown>;
  let frame: PushFrame;
  switch (type) {
    case 'envelope':
      frame = { type, item: readFetchItem(m.item, 'push.item', r.problems) };
      break;
    case 'delivery':
      frame = { type, item: readDeliveryItem(m.item, 'push.item', r.problems) };
      break;
    case 'ping':
      frame = { type, time: r.uint('time') };
      break;
    case 'error':
      frame = { type, code: r.text('code', 64), message: r.text('message', 1000) };
      break;
    default:
      r.problems.push(`push.type ${JSON.stringify(type)} is unknown`);
      frame = { type: 'ping', time: 0 };
  }
  r.done('push');
  return frame;
}
