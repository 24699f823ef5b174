/**
 * The station's client of one relay, speaking docs/relay-api.md: application/cbor bodies,
 * signed requests (`Backchannel-Request`, protocol §5.2) where the API says so, JSON errors
 * mapped to typed errors. Every request has a timeout, so an unreachable or stalled relay never
 * hangs the caller: it fails with `relay_unreachable` or `relay_timeout`, and the station fails
 * over.
 *
 * `RelayApi` is the interface the station uses; `HttpRelayClient` is the real one. Tests of
 * timers and merging may put an in-process relay behind the same interface.
 */
import { signRequest, toBase64Url, type Ed25519Key, type Random } from '@backchannel/core';
import type { Clock } from './clock.js';
import { StationError } from './errors.js';
import {
  encodeAcks,
  encodeBundle,
  encodePage,
  encodeSubmit,
  readAckAnswer,
  readBundleAnswer,
  readBundlePostAnswer,
  readConsistencyAnswer,
  readDeliveriesAnswer,
  readFetchAnswer,
  readInclusionAnswer,
  readSubmitAnswer,
  type AckRecord,
  type DeliveryItem,
  type FetchItem,
  type Page,
  type SubmitAnswer,
} from './relay-wire.js';

/** The relay API as the station uses it. */
export interface RelayApi {
  /** The relay's id (as pinned). */
  readonly id: string;
  submit(envelope: Uint8Array, token: Uint8Array): Promise<SubmitAnswer>;
  postBundle(bundle: Uint8Array): Promise<{ party: string; seq: number }>;
  getBundle(party: string): Promise<Uint8Array>;
  fetch(after: number, limit: number): Promise<Page<FetchItem>>;
  ack(acks: readonly Uint8Array[]): Promise<AckRecord[]>;
  deliveries(after: number, limit: number): Promise<Page<DeliveryItem>>;
  /** The latest checkpoint note (text). */
  checkpoint(): Promise<string>;
  inclusionProof(leafIndex: number, treeSize: number): Promise<Uint8Array[]>;
  consistencyProof(first: number, second: number): Promise<Uint8Array[]>;
  /** The relay's card as published (unparsed JSON). */
  card(): Promise<unknown>;
}

export interface HttpRelayClientOptions {
  id: string;
  /** The relay's base URL from its pinned card. */
  url: string;
  /** The desk's party and station key, for signed requests. */
  party: string;
  station: Ed25519Key;
  clock: Clock;
  random: Random;
  /** Per request, ms. */
  timeoutMs: number;
}

const CBOR = 'application/cbor';
/** The largest answer read: beyond it the relay is cut off (a hostile relay cannot exhaust our memory). */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;
const MAX_ERROR_BYTES = 64 * 1024;

type Method = 'GET' | 'POST';

export class HttpRelayClient implements RelayApi {
  readonly id: string;
  readonly #base: URL;
  readonly #o: HttpRelayClientOptions;

  constructor(o: HttpRelayClientOptions) {
    this.id = o.id;
    this.#o = o;
    // A trailing slash makes relative routes resolve under the card's path, if it has one.
    this.#base = new URL(o.url.endsWith('/') ? o.url : `${o.url}/`);
  }

  async submit(envelope: Uint8Array, token: Uint8Array): Promise<SubmitAnswer> {
    return readSubmitAnswer(await this.#cbor('POST', 'v1/submit', encodeSubmit(envelope, token), false));
  }

  async postBundle(bundle: Uint8Array): Promise<{ party: string; seq: number }> {
    return readBundlePostAnswer(await this.#cbor('POST', 'v1/bundles', encodeBundle(bundle), false));
  }

  async getBundle(party: string): Promise<Uint8Array> {
    return readBundleAnswer(await this.#cbor('GET', `v1/bundles/${encodeURIComponent(party)}`, undefined, false));
  }

  async fetch(after: number, limit: number): Promise<Page<FetchItem>> {
    return readFetchAnswer(await this.#cbor('POST', 'v1/fetch', encodePage(after, limit), true));
  }

  async ack(acks: readonly Uint8Array[]): Promise<AckRecord[]> {
    return readAckAnswer(await this.#cbor('POST', 'v1/ack', encodeAcks(acks), true));
  }

  async deliveries(after: number, limit: number): Promise<Page<DeliveryItem>> {
    return readDeliveriesAnswer(await this.#cbor('POST', 'v1/deliveries', encodePage(after, limit), true));
  }

  async checkpoint(): Promise<string> {
    return new TextDecoder('utf-8', { fatal: false }).decode(await this.#request('GET', 'checkpoint', undefined, false, 'text/plain'));
  }

  async inclusionProof(leafIndex: number, treeSize: number): Promise<Uint8Array[]> {
    const text = await this.#text(`v1/log/proof/inclusion?leaf_index=${leafIndex}&tree_size=${treeSize}`);
    return readInclusionAnswer(text, leafIndex, treeSize);
  }

  async consistencyProof(first: number, second: number): Promise<Uint8Array[]> {
    return readConsistencyAnswer(await this.#text(`v1/log/proof/consistency?first=${first}&second=${second}`));
  }

  async card(): Promise<unknown> {
    const text = await this.#text('card');
    try {
      return JSON.parse(text) as unknown;
    } catch (cause) {
      throw new StationError('relay_response_invalid', `relay ${this.id}'s card is not JSON`, { cause });
    }
  }

  async #text(route: string): Promise<string> {
    return new TextDecoder('utf-8', { fatal: false }).decode(await this.#request('GET', route, undefined, false, 'application/json'));
  }

  async #cbor(method: Method, route: string, body: Uint8Array | undefined, signed: boolean): Promise<Uint8Array> {
    return this.#request(method, route, body, signed, CBOR);
  }

  async #request(method: Method, route: string, body: Uint8Array | undefined, signed: boolean, accept: string): Promise<Uint8Array> {
    const url = new URL(route, this.#base);
    const headers: Record<string, string> = { accept };
    if (body !== undefined) headers['content-type'] = CBOR;
    if (signed) {
      const req = signRequest(this.#o.station, {
        party: this.#o.party,
        method,
        path: url.pathname + url.search,
        body: body ?? new Uint8Array(0),
        time: this.#o.clock.now(),
        random: this.#o.random,
      });
      headers['backchannel-request'] = toBase64Url(req);
    }
    // Real time bounds the request whatever the injected clock says: it guards the process
    // against a stalled socket, which no test clock can advance.
    const signal = AbortSignal.timeout(this.#o.timeoutMs);
    let res: Response;
    try {
      res = await fetch(url, { method, headers, body: body === undefined ? null : new Uint8Array(body), signal, redirect: 'error' });
    } catch (cause) {
      throw this.#transportError(cause, method, route);
    }
    let bytes: Uint8Array;
    try {
      bytes = await readCapped(res, res.ok ? MAX_ANSWER_BYTES : MAX_ERROR_BYTES);
    } catch (cause) {
      if (cause instanceof StationError) throw cause;
      throw this.#transportError(cause, method, route);
    }
    if (!res.ok) throw this.#refusal(res.status, bytes, method, route);
    return bytes;
  }

  #transportError(cause: unknown, method: Method, route: string): StationError {
    const name = cause instanceof Error ? cause.name : '';
    if (name === 'TimeoutError' || name === 'AbortError') {
      return new StationError('relay_timeout', `relay ${this.id} did not answer ${method} /${route} within ${this.#o.timeoutMs} ms`, { cause });
    }
    const detail = cause instanceof Error && cause.cause instanceof Error ? cause.cause.message : cause instanceof Error ? cause.message : String(cause);
    return new StationError('relay_unreachable', `relay ${this.id} at ${this.#o.url} cannot be reached (${detail})`, { cause });
  }

  #refusal(status: number, bytes: Uint8Array, method: Method, route: string): StationError {
    let code: string | undefined;
    let message: string | undefined;
    try {
      const v = JSON.parse(new TextDecoder().decode(bytes)) as { error?: { code?: unknown; message?: unknown } };
      if (typeof v.error?.code === 'string' && /^[a-z_]{1,64}$/.test(v.error.code)) code = v.error.code;
      if (typeof v.error?.message === 'string') message = v.error.message.slice(0, 500);
    } catch {
      // Not the documented error shape: reported below with the status alone.
    }
    if (code === undefined) {
      return new StationError('relay_response_invalid', `relay ${this.id} answered ${method} /${route} with HTTP ${status} and no error code`, { status });
    }
    return new StationError('relay_refused', `relay ${this.id} refused ${method} /${route}: ${message ?? code} (${code})`, { relayCode: code, status });
  }
}

async function readCapped(res: Response, max: number): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > max) {
    await res.body?.cancel();
    throw new StationError('relay_response_invalid', `the relay's answer of ${declared} bytes exceeds ${max}`);
  }
  if (res.body === null) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > max) {
      await reader.cancel();
      throw new StationError('relay_response_invalid', `the relay's answer exceeds ${max} bytes`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}
