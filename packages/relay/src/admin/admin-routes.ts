/**
 * The admin API's routes (`/api/…`), registered on the admin listener's Fastify instance after
 * `mountConsole`, whose root-level hooks require a session on every `/api/…` request and the
 * CSRF token on state-changing ones (this API has none: the console only reads). Every JSON answer goes through its response schema
 * (schemas.ts), so only the metadata fields of types.ts can leave.
 */
import { openEventStream } from '@backchannel/console';
import type { FastifyInstance } from 'fastify';
import type { AdminSource } from './admin-data.js';
import { LogSchema, MandateSchema, OverviewSchema, StatementsSchema, TrafficQuery, TrafficSchema } from './schemas.js';

/** Strict decimal (the schema's pattern already held): no lenient parseInt (STYLE.md §4). */
function decimal(s: string | undefined): number | undefined {
  return s === undefined ? undefined : Number(s);
}

export interface AdminRouteOptions {
  /** How often the event stream sends fresh figures without a commit, ms. */
  refreshMs: number;
  /** How often it looks for a new commit (the log head moving), ms. */
  commitPollMs: number;
}

export function registerAdminRoutes(app: FastifyInstance, source: AdminSource, options: AdminRouteOptions): void {
  app.get('/api/overview', { schema: { response: { 200: OverviewSchema } } }, async () => source.overview());
  app.get('/api/mandate', { schema: { response: { 200: MandateSchema } } }, async () => source.mandate());
  app.get('/api/traffic', { schema: { querystring: TrafficQuery, response: { 200: TrafficSchema } } }, async (req) => {
    const q = req.query as TrafficQuery;
    return source.traffic({ since: decimal(q.since), until: decimal(q.until), bucketMs: decimal(q.bucket) });
  });
  app.get('/api/log', { schema: { response: { 200: LogSchema } } }, async () => source.log());
  app.get('/api/statements', { schema: { response: { 200: StatementsSchema } } }, async () => source.statements());

  // Live figures: the overview and the traffic (for the window the page asked) every few
  // seconds, and as soon as the log head moves (a group commit).
  app.get('/api/events', { schema: { querystring: TrafficQuery } }, async (req, reply) => {
    const q = req.query as TrafficQuery;
    const query = { bucketMs: decimal(q.bucket), since: decimal(q.since) };
    // A bad window is refused before the stream opens, as a plain error answer.
    await source.traffic(query);
    const stream = openEventStream(req, reply);
    // A window of more than two hours costs a scan of that many envelopes (synchronous on
    // SQLite): it is recounted on the refresh interval, not on every commit.
    const wide = query.since !== undefined && source.ctx.clock() - query.since > 2 * 3_600_000;
    let lastSize = -1;
    let lastSent = 0;
    let lastTraffic = 0;
    let busy = false;
    const tick = async (): Promise<void> => {
      if (busy) return;
      const size = source.ctx.log.size;
      const now = Date.now();
      if (size === lastSize && now - lastSent < options.refreshMs) return;
      busy = true;
      try {
        lastSize = size;
        lastSent = now;
        const withTraffic = !wide || now - lastTraffic >= options.refreshMs;
        const [overview, traffic] = await Promise.all([source.overview(), withTraffic ? source.traffic(query) : undefined]);
        stream.send('overview', overview);
        if (traffic !== undefined) {
          lastTraffic = now;
          stream.send('traffic', traffic);
        }
      } catch (err) {
        req.log.warn({ err }, 'admin event stream could not read the store');
      } finally {
        busy = false;
      }
    };
    const timer = setInterval(() => void tick(), options.commitPollMs);
    void tick();
    await stream.closed;
    clearInterval(timer);
  });
}
