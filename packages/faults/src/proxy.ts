/**
 * A fault-injecting HTTP proxy placed in front of one relay (issues 5 and 8): stations talk to
 * the proxy's URL; the proxy forwards to the relay, and by rule drops, refuses, delays,
 * duplicates, replays, reorders, corrupts, alters (as a compromised relay), or cuts traffic.
 * Faults are staged here, never by special code paths in the relay. Loopback only.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { decodeCbor, encodeCbor, type CborMap } from '@backchannel/core';
import { ruleMatches, type Fault, type FaultStep, type Rule } from './fault.js';
import { Rogue, type RogueIdentity } from './rogue.js';

export interface ProxyOptions {
  /** The relay's base URL, e.g. http://127.0.0.1:7001 */
  target: string;
  host?: string;
  port?: number;
  /** The relay's keys, for the `alter` fault (a compromised relay signs what it alters). */
  rogue?: RogueIdentity;
  /** Largest request or response body handled, bytes. */
  maxBody?: number;
  clock?: () => number;
}

export interface ProxyStats {
  requests: number;
  faulted: Record<Fault['kind'], number>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer', 'content-length']);

function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        reject(new Error('body too large for the proxy'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

/** A schedule in progress: `done` resolves after its last step ran (or once cancelled). */
export interface RunningSchedule {
  done: Promise<void>;
  cancel(): void;
}

interface Upstream {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export class FaultProxy {
  readonly #opts: Required<Pick<ProxyOptions, 'target' | 'maxBody'>> & ProxyOptions;
  readonly #server: Server;
  readonly #rules: Rule[] = [];
  readonly #sockets = new Set<Socket>();
  readonly #rogue: Rogue | undefined;
  /** Fetch items seen so far, for replays. */
  readonly #seenItems: CborMap[] = [];
  #partitioned = false;
  /** Cancels of the schedules still running, so close() leaves no timer behind. */
  readonly #schedules = new Set<() => void>();
  readonly stats: ProxyStats = {
    requests: 0,
    faulted: { pass: 0, drop: 0, refuse: 0, delay: 0, duplicate: 0, replay: 0, reorder: 0, corrupt: 0, alter: 0, cut: 0 },
  };
  url = '';
  port = 0;

  private constructor(opts: ProxyOptions) {
    this.#opts = { maxBody: 8 * 1024 * 1024, ...opts };
    this.#rogue = opts.rogue === undefined ? undefined : new Rogue(opts.rogue);
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch(() => {
        res.destroy();
      });
    });
    this.#server.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
      if (this.#partitioned) s.destroy();
    });
    this.#server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      this.#upgrade(req, socket, head);
    });
  }

  static async start(opts: ProxyOptions): Promise<FaultProxy> {
    const p = new FaultProxy(opts);
    await new Promise<void>((resolve, reject) => {
      p.#server.once('error', reject);
      p.#server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
        resolve();
      });
    });
    const addr = p.#server.address();
    if (addr === null || typeof addr === 'string') throw new Error('proxy has no TCP address');
    p.port = addr.port;
    p.url = `http://${opts.host ?? '127.0.0.1'}:${addr.port}`;
    return p;
  }

  /** Replaces the rules. */
  setRules(rules: Rule[]): void {
    this.#rules.splice(0, this.#rules.length, ...rules.map((r) => ({ ...r })));
  }

  /** One rule for everything. */
  setFault(fault: Fault): void {
    this.setRules([{ fault }]);
  }

  /** Cut every open connection and refuse new ones, until heal(). */
  partition(): void {
    this.#partitioned = true;
    for (const s of this.#sockets) s.destroy();
  }

  heal(): void {
    this.#partitioned = false;
  }

  /**
   * Runs faults by schedule rather than on command: each step at its time from now (real
   * time, on unref'd timers). A later schedule does not cancel an earlier one; `cancel` does.
   */
  schedule(steps: readonly FaultStep[]): RunningSchedule {
    const ordered = [...steps].sort((a, b) => a.afterMs - b.afterMs);
    const timers: NodeJS.Timeout[] = [];
    let finish: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const cancel = (): void => {
      for (const t of timers) clearTimeout(t);
      this.#schedules.delete(cancel);
      finish();
    };
    this.#schedules.add(cancel);
    if (ordered.length === 0) cancel();
    ordered.forEach((step, i) => {
      const t = setTimeout(() => {
        if ('rules' in step) this.setRules(step.rules);
        else if ('partition' in step) this.partition();
        else this.heal();
        if (i === ordered.length - 1) cancel();
      }, Math.max(0, step.afterMs));
      t.unref();
      timers.push(t);
    });
    return { done, cancel };
  }

  /** Digests (hex) of the copies this proxy altered. */
  alteredDigests(): string[] {
    return [...(this.#rogue?.altered.keys() ?? [])];
  }

  async close(): Promise<void> {
    for (const c of [...this.#schedules]) c();
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => {
      this.#server.close(() => {
        resolve();
      });
    });
  }

  #faultFor(method: string, path: string): Fault {
    for (const r of this.#rules) {
      if (ruleMatches(r, method, path)) {
        if (r.times !== undefined) r.times--;
        return r.fault;
      }
    }
    return { kind: 'pass' };
  }

  async #forward(req: IncomingMessage, body: Buffer): Promise<Upstream> {
    const target = new URL(this.#opts.target);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && !HOP_BY_HOP.has(k)) headers[k] = v;
    headers.host = target.host;
    headers['content-length'] = String(body.length);
    return new Promise<Upstream>((resolve, reject) => {
      const up = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (res) => {
        readBody(res, this.#opts.maxBody).then((b) => {
          const h: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string' && !HOP_BY_HOP.has(k)) h[k] = v;
          resolve({ status: res.statusCode ?? 502, headers: h, body: b });
        }, reject);
      });
      up.on('error', reject);
      up.end(body);
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.stats.requests++;
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0]!;
    const fault = this.#faultFor(method, path);
    this.stats.faulted[fault.kind]++;
    if (fault.kind === 'refuse' || this.#partitioned) {
      req.socket.resetAndDestroy();
      return;
    }
    const body = await readBody(req, this.#opts.maxBody);
    if (fault.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    if (fault.kind === 'delay') await new Promise((r) => setTimeout(r, fault.ms + Math.random() * (fault.jitterMs ?? 0)));
    if (fault.kind === 'alter' && this.#rogue !== undefined && path === '/v1/ack' && this.#rogue.touchesAltered(body)) {
      const out = this.#rogue.answerAcks(body, (this.#opts.clock ?? Date.now)());
      res.writeHead(200, { 'content-type': 'application/cbor', 'content-length': out.length });
      res.end(out);
      return;
    }
    const first = await this.#forward(req, body);
    if (fault.kind === 'duplicate') await this.#forward(req, body).catch(() => undefined);
    let out = first.body;
    const isCbor = first.headers['content-type']?.startsWith('application/cbor') === true;
    if (isCbor && first.status === 200 && path === '/v1/fetch') out = this.#rewriteFetch(out, fault);
    if (fault.kind === 'corrupt' && out.length > 0) {
      out = Buffer.from(out);
      const at = Math.floor(out.length / 2);
      out[at] = out[at]! ^ 0xff;
    }
    res.writeHead(first.status, { ...first.headers, 'content-length': out.length });
    if (fault.kind === 'cut') {
      res.write(out.subarray(0, Math.floor(out.length / 2)));
      res.socket?.destroy();
      return;
    }
    res.end(out);
  }

  #rewriteFetch(body: Buffer, fault: Fault): Buffer {
    let v: CborMap;
    try {
      v = decodeCbor(body) as CborMap;
    } catch {
      return body;
    }
    if (!Array.isArray(v.items)) return body;
    let items = v.items as CborMap[];
    const fresh = [...items];
    if (fault.kind === 'replay') items = [...this.#seenItems, ...items];
    if (fault.kind === 'reorder') items = [...items].reverse();
    this.#seenItems.push(...fresh);
    let out = encodeCbor({ ...v, items });
    if (fault.kind === 'alter' && this.#rogue !== undefined) out = this.#rogue.rewriteFetch(out);
    return Buffer.from(out);
  }

  /** WebSocket upgrades are piped through, or refused under faults that cannot act on frames. */
  #upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const path = (req.url ?? '/').split('?')[0]!;
    const fault = this.#faultFor(req.method ?? 'GET', path);
    // A rogue relay simply offers no push: its altered copies then travel through fetch.
    if (this.#partitioned || fault.kind === 'refuse' || fault.kind === 'drop' || fault.kind === 'alter' || fault.kind === 'cut') {
      this.stats.faulted[fault.kind]++;
      socket.destroy();
      return;
    }
    const target = new URL(this.#opts.target);
    const up = connect(Number(target.port), target.hostname, () => {
      let head0 = `${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1\r\n`;
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const k = req.rawHeaders[i]!;
        head0 += `${k}: ${k.toLowerCase() === 'host' ? target.host : req.rawHeaders[i + 1]!}\r\n`;
      }
      up.write(`${head0}\r\n`);
      if (head.length > 0) up.write(head);
      socket.pipe(up).pipe(socket);
    });
    this.#sockets.add(up);
    up.on('close', () => this.#sockets.delete(up));
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  }
}
