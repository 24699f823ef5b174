/**
 * The station's client of one relay, speaking docs/relay-api.md: application/cbor bodies,
 * signed requests (`Backchannel-Request`, protocol §5.2) where the API says so, JSON errors
 * mapped to typed errors. Every request has a timeout, so an unreachable or stalled relay never
 * hangs the caller: it fails with `relay_unreachable` or `relay_timeout`, and the station fails
 * over.
 *
 * It speaks node:http(s) over one keep-alive agent per client rather than WHATWG fetch: a desk
 * makes several requests per note, and fetch's streams and objects made a loopback round trip
 * cost about twice what node:http takes. What fetch did for us is therefore done here: the
 * deadline over the whole exchange, no redirects, and the caps on the answer's size. Idle sockets never keep the process alive
 * (Node unrefs an agent's free sockets), so a CLI command still exits when it is done.
 *
 * `RelayApi` is the interface the station uses; `HttpRelayClient` is the real one. Tests of
 * timers and merging may put an in-process relay behind the same interface.
 */
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { concatBytes, signRequest, toBase64Url, type Ed25519Key, type Random } from '@backchannel/core';
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
/** The statuses fetch treats as redirects (WHATWG Fetch, "redirect status"). */
const REDIRECTS: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
/**
 * LIFO reuses the most recently used socket, so sockets beyond the burst go idle and are closed.
 * An idle socket is closed after 4 s (undici's default, what fetch did): well before the relay
 * closes its end (build-app.ts keeps idle connections 10 s), so a request is seldom written into
 * a connection the relay is closing at that moment (it would fail with `relay_unreachable`).
 * The timeout touches only idle sockets; the deadline of a request in flight is the client's own.
 */
const AGENT_OPTIONS = { keepAlive: true, maxSockets: 64, scheduling: 'lifo', timeout: 4000 } as const;

type Method = 'GET' | 'POST';

export class HttpRelayClient implements RelayApi {
  readonly id: string;
  readonly #base: URL;
  readonly #o: HttpRelayClientOptions;
  readonly #agent: HttpAgent;

  constructor(o: HttpRelayClientOptions) {
    this.id = o.id;
    this.#o = o;
    // A trailing slash makes relative routes resolve under the card's path, if it has one.
    this.#base = new URL(o.url.endsWith('/') ? o.url : `${o.url}/`);
    this.#agent = this.#base.protocol === 'https:' ? new HttpsAgent(AGENT_OPTIONS) : new HttpAgent(AGENT_OPTIONS);
  }

  /**
   * Closes the connections to the relay (requests in flight fail with `relay_unreachable`; a later
   * request opens new ones). Not needed before exit: idle connections do not hold the process.
   */
  close(): void {
    this.#agent.destroy();
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
    if (body !== undefined) {
      headers['content-type'] = CBOR;
      headers['content-length'] = String(body.length);
    }
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
    const { status, bytes } = await this.#exchange(url, method, route, headers, body);
    if (status < 200 || status > 299) throw this.#refusal(status, bytes, method, route);
    return bytes;
  }

  /**
   * One request and its whole answer, or a typed error. Settles once: whichever of the answer's
   * end, a transport error, a cap or the deadline comes first wins, and the others are ignored.
   */
  #exchange(url: URL, method: Method, route: string, headers: Record<string, string>, body: Uint8Array | undefined): Promise<{ status: number; bytes: Uint8Array }> {
    const send = url.protocol === 'https:' ? httpsRequest : url.protocol === 'http:' ? httpRequest : undefined;
    if (send === undefined) return Promise.reject(this.#unreachable(new Error(`unsupported protocol ${url.protocol}`)));
    return new Promise((resolve, reject) => {
      let settled = false;
      let req: ClientRequest | undefined;
      let res: IncomingMessage | undefined;
      const fail = (e: StationError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        // Destroying rather than draining: the socket is not returned to the agent, so a relay
        // cut off mid-answer (or that ran out the clock) never hands its leftovers to the next request.
        res?.destroy();
        req?.destroy();
        reject(e);
      };
      // Real time bounds the whole exchange (connect, send, answer body) whatever the injected
      // clock says: it guards the process against a stalled socket, which no test clock can advance.
      const timer = setTimeout(() => {
        fail(new StationError('relay_timeout', `relay ${this.id} did not answer ${method} /${route} within ${this.#o.timeoutMs} ms`));
      }, this.#o.timeoutMs);
      try {
        req = send(url, { method, headers, agent: this.#agent });
      } catch (cause) {
        fail(this.#unreachable(cause));
        return;
      }
      req.on('error', (cause) => {
        fail(this.#unreachable(cause));
      });
      req.on('response', (r: IncomingMessage) => {
        res = r;
        const status = r.statusCode ?? 0;
        // Redirects are not followed: the desk talks to the URL it pinned from the relay's card,
        // nowhere else. As under fetch's `redirect: 'error'`, a redirect status is a transport
        // failure (relay_unreachable), never success; the other 3xx are refusals like any non-2xx.
        if (REDIRECTS.has(status)) {
          fail(this.#unreachable(new Error(`unexpected redirect, HTTP ${status}`)));
          return;
        }
        const max = status >= 200 && status <= 299 ? MAX_ANSWER_BYTES : MAX_ERROR_BYTES;
        const declared = Number(r.headers['content-length'] ?? '0');
        if (declared > max) {
          fail(new StationError('relay_response_invalid', `the relay's answer of ${declared} bytes exceeds ${max}`));
          return;
        }
        // The relay chooses how much it streams: the cap is also enforced as it arrives, whatever
        // it declared (or with no length at all, chunked).
        const chunks: Buffer[] = [];
        let total = 0;
        r.on('data', (c: Buffer) => {
          total += c.length;
          if (total > max) fail(new StationError('relay_response_invalid', `the relay's answer exceeds ${max} bytes`));
          else chunks.push(c);
        });
        r.on('error', (cause) => {
          fail(this.#unreachable(cause));
        });
        r.on('close', () => {
          // A connection that ends before the answer is complete (a relay that died mid-answer).
          if (!r.complete) fail(this.#unreachable(new Error('the connection closed before the answer was complete')));
        });
        r.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          // A copy of its own, not a view into a socket's pooled buffer.
          resolve({ status, bytes: concatBytes(...chunks) });
        });
      });
      // The body goes out as is: node:http writes a Uint8Array without copying it.
      req.end(body);
    });
  }

  #unreachable(cause: unknown): StationError {
    return new StationError('relay_unreachable', `relay ${this.id} at ${this.#o.url} cannot be reached (${describeCause(cause)})`, { cause });
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

/**
 * The detail of a transport error. Node reports a failed connection to every address of a name
 * (localhost: ::1 and 127.0.0.1) as an AggregateError with an empty message: its parts say why.
 */
function describeCause(cause: unknown): string {
  if (cause instanceof AggregateError && cause.errors.length > 0) return cause.errors.map(describeCause).join('; ');
  if (cause instanceof Error) return cause.message !== '' ? cause.message : ((cause as NodeJS.ErrnoException).code ?? cause.name);
  return String(cause);
}

