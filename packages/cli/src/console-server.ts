/**
 * The station console's server (issue 6): a Fastify app on the daemon's open `Station`, with
 * the shared console plumbing (`mountConsole`: login, sessions, CSRF, CSP, the built UI) and
 * the station's own typed API under `/api`. Routes call the `Station` methods and answer with
 * its view types (InboxEntry, ThreadView, NoteView, ChannelHealthView, Alert, SendResult,
 * VerifyReport); there is no second model. Live updates: the daemon hands every watch event
 * and deadline report to `notify`, and `/api/events` passes them on as Server-Sent Events;
 * the page refetches what changed.
 *
 * Read state is the station's own (`Station.markRead`). The last log verification is kept in
 * memory here so the Channels page can show each log's verified size; it is re-run on demand.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { CATEGORIES, PRECEDENCES, fromBase64, isBackchannelError, type Category, type Precedence } from '@backchannel/core';
import { consoleErrorHandler, errorBody, mountConsole, openEventStream, type EventStream } from '@backchannel/console';
import { describeFailure, isStationError, type DeadlineReport, type SendRequest, type Station, type ThreadView, type VerifyReport, type WatchEvent } from '@backchannel/station';
import { CliError } from './errors.js';
import { formatListen, type Listen } from './flags.js';
import type { Home, PartyHomeJson } from './home.js';
import { readBundle } from './station-home.js';

export interface SignerInfo {
  id: string;
  name: string;
  title: string;
  level: string;
}

export interface StationConsoleOptions {
  station: Station;
  listen: { host: string; port: number };
  /** Shown in the page: the party's name. */
  title: string;
  /** The desk's signers (from its bundle), offered in Compose. */
  signers: readonly SignerInfo[];
  /** The station passphrase check (constant time). */
  checkSecret(secret: string): boolean | Promise<boolean>;
  /** A login token printed at start-up; a random one when not given. */
  token?: string;
}

export interface RunningStationConsole {
  url: string;
  port: number;
  token: string;
  /** Tells open pages that something changed (the daemon's watch events, deadline reports). */
  notify(e: ConsoleEvent): void;
  close(): Promise<void>;
}

export type ConsoleEvent = WatchEvent | { type: 'deadlines'; report: DeadlineReport } | { type: 'sent'; id: string } | { type: 'alert'; ids: readonly number[] };

/** The largest compose request: attachments travel base64 inside the JSON. */
const SEND_BODY_LIMIT = 12 * 1024 * 1024;
const INBOX_LIMIT_MAX = 1000;

const STATION_STATUS: Readonly<Record<string, number>> = {
  not_found: 404,
  ambiguous_id: 409,
  unknown_party: 400,
  unknown_relay: 400,
  unknown_signer: 400,
  no_channel: 409,
  schema_invalid: 400,
};

function sendStationError(reply: FastifyReply, e: unknown): FastifyReply {
  if (isStationError(e) || isBackchannelError(e)) {
    const f = describeFailure(e);
    return reply.code(STATION_STATUS[f.code] ?? 502).send(errorBody(f.code, f.message));
  }
  throw e;
}

/** The wire shape of one event: what the page needs to decide what to refetch, no contents. */
function eventOf(e: ConsoleEvent): { name: string; data: Record<string, unknown> } {
  switch (e.type) {
    case 'received':
      return { name: 'note', data: { id: e.entry.id ?? null, from: e.entry.from ?? null, relay: e.entry.relay, kind: e.entry.kind ?? null, valid: e.entry.valid, outcome: e.entry.outcome } };
    case 'delivered':
      return { name: 'status', data: { relay: e.relay, what: 'delivered' } };
    case 'acknowledged':
      return { name: 'status', data: { what: 'acknowledged', notes: e.acks.flatMap((a) => a.notes) } };
    case 'connected':
    case 'disconnected':
      return { name: 'channel', data: { relay: e.relay, what: e.type } };
    case 'error':
      return { name: 'channel', data: { relay: e.relay ?? null, what: 'error', code: e.error.code } };
    case 'deadlines':
      return { name: 'alert', data: { failovers: e.report.failovers.length, drops: e.report.drops.length, missed: e.report.missed.length } };
    case 'sent':
      return { name: 'status', data: { id: e.id, what: 'sent' } };
    case 'alert':
      return { name: 'alert', data: { ids: e.ids } };
  }
}

const sendSchema = {
  type: 'object',
  required: ['to', 'precedence', 'subject', 'body'],
  additionalProperties: false,
  properties: {
    to: { type: 'string', minLength: 1, maxLength: 64 },
    precedence: { type: 'string', enum: [...PRECEDENCES] },
    category: { type: 'string', enum: [...CATEGORIES] },
    subject: { type: 'string', maxLength: 1000 },
    body: { type: 'string', maxLength: 1_000_000 },
    signer: { type: 'string', minLength: 1, maxLength: 64 },
    via: { type: 'array', maxItems: 32, items: { type: 'string', minLength: 1, maxLength: 64 } },
    replyTo: { type: 'string', minLength: 1, maxLength: 200 },
    attachments: {
      type: 'array',
      maxItems: 16,
      items: {
        type: 'object',
        required: ['name', 'type', 'data'],
        additionalProperties: false,
        properties: { name: { type: 'string', minLength: 1, maxLength: 255 }, type: { type: 'string', minLength: 1, maxLength: 255 }, data: { type: 'string', maxLength: SEND_BODY_LIMIT, pattern: '^[A-Za-z0-9+/]*={0,2}$' } },
      },
    },
  },
} as const;

interface SendBody {
  to: string;
  precedence: Precedence;
  category?: Category;
  subject: string;
  body: string;
  signer?: string;
  via?: string[];
  replyTo?: string;
  attachments?: { name: string; type: string; data: string }[];
}

const idParam = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9_./:-]+$' } } } as const;

/** Registers the station's `/api` routes (call after mountConsole). Exported so tests drive them in process. */
export function registerStationApi(app: FastifyInstance, opts: Pick<StationConsoleOptions, 'station' | 'signers' | 'title'>, streams: Set<EventStream>, notify: (e: ConsoleEvent) => void): void {
  const station = opts.station;
  let lastVerify: { at: number; report: VerifyReport } | null = null;

  app.get('/api/meta', async () => ({
    party: station.party,
    title: opts.title,
    parties: await station.parties(),
    signers: opts.signers,
    policy: station.policy,
    relays: (await station.channels()).map((c) => ({ relay: c.relay, name: c.name, rank: c.rank, primary: c.primary })),
    precedences: PRECEDENCES,
    categories: CATEGORIES,
  }));

  app.get('/api/inbox', { schema: { querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: INBOX_LIMIT_MAX } } } } }, async (request) => {
    const { limit } = request.query as { limit?: number };
    const entries = await station.inbox({ limit: limit ?? 200 });
    // Each thread once, with every note's view: the inbox shows attribution, copies and marks.
    const threads: ThreadView[] = [];
    const seen = new Set<string>();
    for (const e of entries) {
      const key = e.thread ?? e.id;
      if (seen.has(key)) continue;
      const t = await station.thread(e.id);
      seen.add(key);
      seen.add(t.id);
      threads.push(t);
    }
    return { entries, threads };
  });

  app.get('/api/thread/:id', { schema: { params: idParam } }, async (request, reply) => {
    try {
      return await station.thread((request.params as { id: string }).id);
    } catch (e) {
      return sendStationError(reply, e);
    }
  });

  app.get('/api/note/:id', { schema: { params: idParam, querystring: { type: 'object', properties: { from: { type: 'string', maxLength: 64 } } } } }, async (request, reply) => {
    const { from } = request.query as { from?: string };
    try {
      return await station.show((request.params as { id: string }).id, from === undefined ? {} : { from });
    } catch (e) {
      return sendStationError(reply, e);
    }
  });

  app.post('/api/note/:id/read', { schema: { params: idParam, body: { type: 'object', additionalProperties: false, properties: { from: { type: 'string', maxLength: 64 }, receipt: { type: 'boolean' } } } } }, async (request, reply) => {
    const body = (request.body ?? {}) as { from?: string; receipt?: boolean };
    try {
      await station.markRead((request.params as { id: string }).id, { ...(body.from === undefined ? {} : { from: body.from }), receipt: body.receipt === true });
    } catch (e) {
      return sendStationError(reply, e);
    }
    notify({ type: 'sent', id: (request.params as { id: string }).id });
    return reply.code(204).send();
  });

  app.post('/api/send', { bodyLimit: SEND_BODY_LIMIT, schema: { body: sendSchema } }, async (request, reply) => {
    const b = request.body as SendBody;
    const req: SendRequest = {
      to: b.to,
      precedence: b.precedence,
      subject: b.subject,
      body: b.body,
      ...(b.category === undefined ? {} : { category: b.category }),
      ...(b.signer === undefined ? {} : { signer: b.signer }),
      ...(b.via === undefined || b.via.length === 0 ? {} : { via: b.via }),
      ...(b.replyTo === undefined ? {} : { replyTo: b.replyTo }),
      ...(b.attachments === undefined ? {} : { attachments: b.attachments.map((a) => ({ name: a.name, type: a.type, data: fromBase64(a.data) })) }),
    };
    try {
      const r = await station.send(req);
      notify({ type: 'sent', id: r.id });
      return r;
    } catch (e) {
      return sendStationError(reply, e);
    }
  });

  app.get('/api/channels', async () => ({ channels: await station.channels(), verification: lastVerify }));

  app.post('/api/verify', async () => {
    const report = await station.verify();
    lastVerify = { at: Date.now(), report };
    if (report.alerts.length > 0) notify({ type: 'alert', ids: report.alerts });
    return lastVerify;
  });

  app.get('/api/alerts', { schema: { querystring: { type: 'object', properties: { open: { type: 'boolean' } } } } }, async (request) => {
    const { open } = request.query as { open?: boolean };
    return station.alerts(open === undefined ? {} : { open });
  });

  const alertParam = { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1 } } } as const;

  app.get('/api/alerts/:id/evidence', { schema: { params: alertParam } }, async (request, reply) => {
    const id = (request.params as { id: number }).id;
    const a = (await station.alerts()).find((x) => x.id === id);
    if (a === undefined) return reply.code(404).send(errorBody('not_found', `no alert ${String(id)}`));
    // A download, never rendered: evidence carries relay-supplied text.
    return reply
      .header('content-disposition', `attachment; filename="alert-${String(id)}-${a.kind}.json"`)
      .type('application/json; charset=utf-8')
      .send(`${JSON.stringify(a, null, 2)}\n`);
  });

  app.post('/api/alerts/:id/resolve', { schema: { params: alertParam } }, async (request, reply) => {
    await station.resolveAlert((request.params as { id: number }).id);
    notify({ type: 'alert', ids: [(request.params as { id: number }).id] });
    return reply.code(204).send();
  });

  app.get('/api/events', async (request, reply) => {
    const s = openEventStream(request, reply);
    streams.add(s);
    s.send('hello', { party: station.party });
    void s.closed.then(() => streams.delete(s));
  });
}

export async function startStationConsole(opts: StationConsoleOptions): Promise<RunningStationConsole> {
  const token = opts.token ?? randomBytes(18).toString('base64url');
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  app.setErrorHandler(consoleErrorHandler);
  await mountConsole(app, { kind: 'station', title: opts.title, checkSecret: (s) => opts.checkSecret(s), token });
  const streams = new Set<EventStream>();
  const notify = (e: ConsoleEvent): void => {
    const { name, data } = eventOf(e);
    for (const s of streams) if (!s.send(name, data)) streams.delete(s);
  };
  registerStationApi(app, opts, streams, notify);
  await app.listen({ host: opts.listen.host, port: opts.listen.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : opts.listen.port;
  const host = opts.listen.host.includes(':') ? `[${opts.listen.host}]` : opts.listen.host;
  return {
    url: `http://${host}:${String(port)}/`,
    port,
    token,
    notify,
    async close() {
      for (const s of streams) s.close();
      streams.clear();
      await app.close();
    },
  };
}

/** Loopback hosts: the station console speaks plain HTTP and holds the desk's notes. */
const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/;

/**
 * The daemon's console (`serve --home PARTY_HOME --listen HOST:PORT`): logins with the station
 * passphrase the daemon was unlocked with, or the random token it prints. Loopback only.
 */
export async function startDaemonConsole(home: Home<PartyHomeJson>, station: Station, listen: Listen, passphrase: string): Promise<RunningStationConsole> {
  if (!LOOPBACK.test(listen.host)) throw new CliError('usage', `--listen ${formatListen(listen)} is not a loopback address: the station console serves plain HTTP, so it listens on 127.0.0.1 or [::1] only (reach it from elsewhere through an SSH tunnel)`);
  const bundle = (await readBundle(home)).bundle;
  return startStationConsole({
    station,
    listen,
    title: `${home.json.name} (${home.json.id}/${home.json.station})`,
    signers: bundle.signers.map((s) => ({ id: s.id, name: s.name, title: s.title, level: s.level })),
    checkSecret: (secret) => safeEqualText(secret, passphrase),
  });
}

function safeEqualText(a: string, b: string): boolean {
  // Hashing first gives equal lengths, so timingSafeEqual leaks neither contents nor length.
  return timingSafeEqual(createHash('sha256').update(a, 'utf8').digest(), createHash('sha256').update(b, 'utf8').digest());
}
