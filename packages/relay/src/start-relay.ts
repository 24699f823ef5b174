/**
 * startRelay: the programmatic entry point (docs/relay-api.md). The CLI's `serve` reads the
 * home, decrypts the log key and calls it; tests call it directly or through
 * test/fixtures/relay-process.ts.
 */
import type { AddressInfo } from 'node:net';
import { formatVkey } from '@backchannel/core';
import { pino } from 'pino';
import { checkAdminListen, startAdminServer, type RunningAdmin } from './admin/admin-server.js';
import { addParty } from './mandate/mandate.js';
import { DEFAULT_LIMITS, type RelayLimits, type RelayOptions, type RunningRelay } from './options.js';
import { createRelay } from './relay.js';
import { openStore } from './store/open-store.js';

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

export function resolveLimits(limits: Partial<RelayLimits> | undefined): RelayLimits {
  return { ...DEFAULT_LIMITS, ...limits };
}

export async function startRelay(options: RelayOptions): Promise<RunningRelay> {
  const clock = options.clock ?? Date.now;
  const logger = options.logger ?? pino({ level: process.env.BACKCHANNEL_LOG_LEVEL ?? 'info', base: { relay: options.id } });
  // A bad admin address is refused before anything opens (again after listening, with the real port).
  if (options.adminListen !== undefined) checkAdminListen(options.adminListen, options.listen);
  const store = await openStore(options.db);
  try {
    for (const m of options.mandate ?? []) {
      await addParty(store, m.card, { ...(m.allow === undefined ? {} : { allow: m.allow }), ...(m.statements === undefined ? {} : { statements: m.statements }) }, clock());
    }
    const relay = await createRelay({
      id: options.id,
      origin: options.origin,
      logKey: options.logKey,
      card: options.card,
      store,
      clock,
      logger,
      limits: resolveLimits(options.limits),
      ...(options.verifyEnvelopeSignature === undefined ? {} : { verifyEnvelopeSignature: options.verifyEnvelopeSignature }),
      defaultMetrics: true,
      ...(options.tls === undefined ? {} : { tls: options.tls }),
      ...(options.witness === undefined ? {} : { witness: options.witness }),
      ...(options.witnesses === undefined ? {} : { witnesses: options.witnesses }),
    });
    try {
      await relay.app.listen({ host: options.listen.host, port: options.listen.port });
    } catch (e) {
      await relay.close();
      throw e;
    }
    const port = (relay.app.server.address() as AddressInfo).port;
    const url = `${options.tls === undefined ? 'http' : 'https'}://${urlHost(options.listen.host)}:${port}`;
    logger.info({ url, origin: options.origin, size: relay.ctx.log.size }, 'relay listening');
    let admin: RunningAdmin | undefined;
    if (options.adminListen !== undefined) {
      try {
        admin = await startAdminServer({
          ctx: relay.ctx,
          name: options.name,
          url: options.url,
          startedAt: clock(),
          witnesses: (options.witnesses ?? []).map((w) => formatVkey(w.vkey)),
          listen: options.adminListen,
          publicListen: { host: options.listen.host, port },
          logger,
        });
      } catch (e) {
        await relay.close();
        throw e;
      }
      logger.info({ url: admin.url }, 'admin listener (operator console) listening');
    }
    let closing: Promise<void> | undefined;
    return {
      url,
      port,
      ...(admin === undefined ? {} : { admin: { url: admin.url, port: admin.port, token: admin.token } }),
      close: () =>
        (closing ??= (async () => {
          try {
            await admin?.close();
            await relay.close();
          } finally {
            await store.close();
          }
        })()),
    };
  } catch (e) {
    await store.close();
    throw e;
  }
}
