/**
 * A relay built in process around a real store (SQLite file or PostgreSQL database), for tests
 * that drive the app with `inject` — the app as a request→response function, no socket.
 */
import { pino, type Logger } from 'pino';
import { addParty, type StatementConsent } from '../../src/mandate/mandate.js';
import type { WitnessTarget } from '../../src/witness/publisher.js';
import type { WitnessConfig } from '../../src/witness/witness.js';
import { DEFAULT_LIMITS, type RelayLimits } from '../../src/options.js';
import { createRelay, type Relay } from '../../src/relay.js';
import type { KyselyRelayStore } from '../../src/store/kysely-store.js';
import { openStore } from '../../src/store/open-store.js';
import type { RelayStore } from '../../src/store/relay-store.js';
import { testDb, type Backend, type TestDb } from './databases.js';
import type { World } from './world.js';

export interface InProcessRelay {
  relay: Relay;
  /** The store the relay uses (possibly wrapped by a test spy). */
  store: RelayStore;
  /** The real store underneath, for raw inspection. */
  raw: KyselyRelayStore;
  db: TestDb;
  close(): Promise<void>;
}

export async function inProcessRelay(
  world: World,
  backend: Backend,
  options: {
    limits?: Partial<RelayLimits>;
    logger?: Logger;
    wrapStore?: (s: RelayStore) => RelayStore;
    clock?: () => number;
    db?: TestDb;
    allow?: Record<string, string[]>;
    statements?: Record<string, StatementConsent>;
    witness?: WitnessConfig;
    witnesses?: WitnessTarget[];
    verifyEnvelopeSignature?: boolean;
  } = {},
): Promise<InProcessRelay> {
  const db = options.db ?? (await testDb(backend));
  const opened = await openStore(db.url);
  const clock = options.clock ?? world.now;
  for (const p of [world.us, world.ir]) {
    const allow = options.allow?.[p.id];
    const statements = options.statements?.[p.id];
    await addParty(opened, p.card, { ...(allow === undefined ? {} : { allow }), ...(statements === undefined ? {} : { statements }) }, clock());
  }
  const store = options.wrapStore === undefined ? opened : options.wrapStore(opened);
  const relay = await createRelay({
    id: world.relay.id,
    origin: world.relay.origin,
    logKey: world.relay.logKey,
    card: world.relay.card,
    store,
    clock,
    logger: options.logger ?? pino({ level: 'silent' }),
    limits: { ...DEFAULT_LIMITS, housekeepingMs: 3_600_000, ...options.limits },
    ...(options.witness === undefined ? {} : { witness: options.witness }),
    ...(options.witnesses === undefined ? {} : { witnesses: options.witnesses }),
    ...(options.verifyEnvelopeSignature === undefined ? {} : { verifyEnvelopeSignature: options.verifyEnvelopeSignature }),
  });
  return {
    relay,
    store,
    raw: opened,
    db,
    close: async () => {
      await relay.close();
      await opened.close();
      if (options.db === undefined) await db.drop();
    },
  };
}
