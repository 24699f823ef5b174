import type { AddressInfo } from 'node:net';
import { formatVkey, type Ed25519Key, type Vkey } from '@backchannel/core';
import { Witness, openWitnessStore, registerWitnessRoute } from '@backchannel/relay';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';

export interface WitnessOptions {
  /** The cosigning key (decrypted by the caller): never a log key. */
  key: Ed25519Key;
  /** The witness name: the key name of its vkey and cosignature lines. */
  name: string;
  /** The log keys it witnesses (type 0x01; key name = origin). */
  logs: Vkey[];
  /** The SQLite file holding the last cosigned checkpoint per log. */
  db: string;
  /** port 0: ephemeral (tests). */
  listen: { host: string; port: number };
  clock?: () => number;
  logger?: Logger;
}

export interface RunningWitness {
  url: string;
  port: number;
  /** The witness vkey (type 0x04) to give relays and verifiers. */
  vkey: string;
  close(): Promise<void>;
}

export async function startWitness(o: WitnessOptions): Promise<RunningWitness> {
  const logger = o.logger ?? pino({ level: process.env.BACKCHANNEL_LOG_LEVEL ?? 'info', base: { witness: o.name } });
  const { store, close } = await openWitnessStore(o.db);
  try {
    const witness = new Witness({ key: o.key, name: o.name, logs: o.logs }, store, o.clock ?? Date.now);
    const loggerInstance: FastifyBaseLogger = logger;
    const app: FastifyInstance = Fastify({ loggerInstance, requestTimeout: 30_000, forceCloseConnections: true, return503OnClosing: true });
    app.get('/healthz', (_req, reply) => reply.send({ ok: true }));
    await registerWitnessRoute(app, witness, '');
    await app.listen({ host: o.listen.host, port: o.listen.port });
    const port = (app.server.address() as AddressInfo).port;
    const host = o.listen.host === '0.0.0.0' || o.listen.host === '' ? '127.0.0.1' : o.listen.host.includes(':') ? `[${o.listen.host}]` : o.listen.host;
    const vkey = formatVkey(witness.vkey);
    logger.info({ port, vkey, logs: o.logs.length }, 'witness listening');
    let closing: Promise<void> | undefined;
    return {
      url: `http://${host}:${port}`,
      port,
      vkey,
      close: () =>
        (closing ??= (async () => {
          try {
            await app.close();
          } finally {
            await close();
          }
        })()),
    };
  } catch (e) {
    await close();
    throw e;
  }
}
