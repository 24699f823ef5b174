/**
 * The one set of migrations for both backends (Kysely Migrator, up and down). The only
 * dialect difference is the name of the byte-string type, passed in; everything else is the
 * same schema builder code.
 */
import type { Kysely, Migration, MigrationProvider } from 'kysely';
import { createWitnessTable } from '../witness/witness-store.js';

export type Dialect = 'sqlite' | 'postgres';

function initial(bytes: 'blob' | 'bytea'): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('parties')
        .addColumn('party', 'text', (c) => c.primaryKey())
        .addColumn('root', bytes, (c) => c.notNull())
        .addColumn('bundle', bytes, (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('bundle_hash', bytes, (c) => c.notNull())
        .addColumn('allow', 'text')
        .addColumn('statements', 'integer', (c) => c.notNull())
        .addColumn('updated', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('envelopes')
        .addColumn('leaf_index', 'bigint', (c) => c.primaryKey())
        .addColumn('from_party', 'text', (c) => c.notNull())
        .addColumn('env_id', bytes, (c) => c.notNull())
        .addColumn('digest', bytes, (c) => c.notNull())
        .addColumn('bytes', bytes, (c) => c.notNull())
        .addColumn('to_party', 'text', (c) => c.notNull())
        .addColumn('prec', 'integer', (c) => c.notNull())
        .addColumn('created', 'bigint', (c) => c.notNull())
        .addColumn('size', 'integer', (c) => c.notNull())
        .addColumn('token', bytes, (c) => c.notNull())
        .addColumn('station', bytes, (c) => c.notNull())
        .addColumn('received', 'bigint', (c) => c.notNull())
        .addColumn('salt', bytes, (c) => c.notNull())
        .addColumn('receipt', 'text', (c) => c.notNull())
        .addUniqueConstraint('envelopes_from_id', ['from_party', 'env_id'])
        .execute();
      await db.schema.createIndex('envelopes_to').on('envelopes').columns(['to_party', 'prec', 'leaf_index']).execute();
      await db.schema.createIndex('envelopes_from').on('envelopes').columns(['from_party', 'prec', 'leaf_index']).execute();
      await db.schema.createIndex('envelopes_received').on('envelopes').columns(['received']).execute();

      await db.schema
        .createTable('equivocations')
        .addColumn('from_party', 'text', (c) => c.notNull())
        .addColumn('env_id', bytes, (c) => c.notNull())
        .addColumn('digest', bytes, (c) => c.notNull())
        .addColumn('bytes', bytes, (c) => c.notNull())
        .addColumn('token', bytes, (c) => c.notNull())
        .addColumn('station', bytes, (c) => c.notNull())
        .addColumn('received', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('equivocations_pk', ['from_party', 'env_id', 'digest'])
        .execute();

      await db.schema
        .createTable('tombstones')
        .addColumn('from_party', 'text', (c) => c.notNull())
        .addColumn('env_id', bytes, (c) => c.notNull())
        .addColumn('digest', bytes, (c) => c.notNull())
        .addColumn('leaf_index', 'bigint', (c) => c.notNull())
        .addColumn('receipt', 'text', (c) => c.notNull())
        .addColumn('deleted', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('tombstones_pk', ['from_party', 'env_id'])
        .execute();

      await db.schema
        .createTable('leaves')
        .addColumn('idx', 'bigint', (c) => c.primaryKey())
        .addColumn('leaf', bytes, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('nodes')
        .addColumn('level', 'integer', (c) => c.notNull())
        .addColumn('idx', 'bigint', (c) => c.notNull())
        .addColumn('hash', bytes, (c) => c.notNull())
        .addPrimaryKeyConstraint('nodes_pk', ['level', 'idx'])
        .execute();

      await db.schema
        .createTable('checkpoints')
        .addColumn('size', 'bigint', (c) => c.primaryKey())
        .addColumn('root', bytes, (c) => c.notNull())
        .addColumn('note', 'text', (c) => c.notNull())
        .addColumn('signed_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('desks')
        .addColumn('desk', bytes, (c) => c.primaryKey())
        .addColumn('party', 'text', (c) => c.notNull())
        .addColumn('last_seq', 'bigint', (c) => c.notNull())
        .addColumn('created', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('desk_items')
        .addColumn('desk', bytes, (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('leaf_index', 'bigint', (c) => c.notNull())
        .addColumn('assigned', 'bigint', (c) => c.notNull())
        .addColumn('fetched', 'bigint')
        .addPrimaryKeyConstraint('desk_items_pk', ['desk', 'seq'])
        .addUniqueConstraint('desk_items_envelope', ['desk', 'leaf_index'])
        .execute();
      await db.schema.createIndex('desk_items_leaf').on('desk_items').columns(['leaf_index']).execute();

      await db.schema
        .createTable('delivery_records')
        .addColumn('leaf_index', 'bigint', (c) => c.primaryKey())
        .addColumn('env_index', 'bigint', (c) => c.notNull())
        .addColumn('from_party', 'text', (c) => c.notNull())
        .addColumn('to_party', 'text', (c) => c.notNull())
        .addColumn('desk', bytes, (c) => c.notNull())
        .addColumn('record', bytes, (c) => c.notNull())
        .addColumn('salt', bytes, (c) => c.notNull())
        .addColumn('receipt', 'text', (c) => c.notNull())
        .addColumn('created', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('delivery_records_copy', ['env_index', 'desk'])
        .execute();
      await db.schema.createIndex('delivery_records_from').on('delivery_records').columns(['from_party', 'leaf_index']).execute();

      await db.schema
        .createTable('request_nonces')
        .addColumn('nonce', bytes, (c) => c.primaryKey())
        .addColumn('expires', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('request_nonces_expires').on('request_nonces').columns(['expires']).execute();
    },

    async down(db: Kysely<unknown>): Promise<void> {
      for (const t of ['request_nonces', 'delivery_records', 'desk_items', 'desks', 'checkpoints', 'nodes', 'leaves', 'tombstones', 'equivocations', 'envelopes', 'parties']) {
        await db.schema.dropTable(t).execute();
      }
    },
  };
}

/**
 * Proof for third parties: the witness state of a relay that witnesses other logs
 * (`witness_logs`), and the witness cosignatures this relay collected on its own checkpoints.
 */
function witnesses(bytes: 'blob' | 'bytea'): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await createWitnessTable(db, bytes);
      await db.schema
        .createTable('cosignatures')
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('witness', 'text', (c) => c.notNull())
        .addColumn('line', 'text', (c) => c.notNull())
        .addColumn('added', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('cosignatures_pk', ['size', 'witness'])
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('cosignatures').execute();
      await db.schema.dropTable('witness_logs').execute();
    },
  };
}

/** The journal of published statements, for the operator console (admin/). */
function statements(bytes: 'blob' | 'bytea'): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('statements')
        .addColumn('digest', bytes, (c) => c.primaryKey())
        .addColumn('issued', 'bigint', (c) => c.notNull())
        .addColumn('party_a', 'text', (c) => c.notNull())
        .addColumn('party_b', 'text', (c) => c.notNull())
        .addColumn('since', 'bigint', (c) => c.notNull())
        .addColumn('until', 'bigint', (c) => c.notNull())
        .addColumn('count', 'bigint', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('cosignatures', 'integer', (c) => c.notNull())
        .addColumn('opened', 'integer', (c) => c.notNull())
        .addColumn('requested_by', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('statements_issued').on('statements').columns(['issued']).execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('statements').execute();
    },
  };
}

/**
 * What each desk has still to be handed, so a fetch costs what is new rather than the party's
 * retained history (kysely-store.ts, `fetchForDesk`). `desks.confirmed_to` is the highest
 * cursor applied: every item up to it is confirmed (0, below the first sequence 1, for an
 * older desk, whose next cursor walks its items once). `desks.scanned_to` is the highest
 * envelope leaf index already considered for the desk: -1, not 0, for nothing considered,
 * because leaf 0 is the log's first leaf and may be an envelope. `desks.scan_party` is the
 * party the scan was made for (a station key enrolled in two bundles fetches as either);
 * NULL, as every desk of an older database has it, makes the next fetch scan once from the
 * start with the old "not yet handed" filter, which is exact and one-off.
 */
function deskPending(bytes: 'blob' | 'bytea'): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('desk_pending')
        .addColumn('desk', bytes, (c) => c.notNull())
        .addColumn('prec', 'integer', (c) => c.notNull())
        .addColumn('leaf_index', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('desk_pending_pk', ['desk', 'prec', 'leaf_index'])
        .execute();
      // Retention deletes by envelope.
      await db.schema.createIndex('desk_pending_leaf').on('desk_pending').columns(['leaf_index']).execute();
      await db.schema.alterTable('desks').addColumn('confirmed_to', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable('desks').addColumn('scanned_to', 'bigint', (c) => c.notNull().defaultTo(-1)).execute();
      await db.schema.alterTable('desks').addColumn('scan_party', 'text').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('desks').dropColumn('scan_party').execute();
      await db.schema.alterTable('desks').dropColumn('scanned_to').execute();
      await db.schema.alterTable('desks').dropColumn('confirmed_to').execute();
      await db.schema.dropTable('desk_pending').execute();
    },
  };
}

/** The migrations, by name (applied in name order). */
export function relayMigrations(dialect: Dialect): MigrationProvider {
  const bytes = dialect === 'postgres' ? 'bytea' : 'blob';
  return {
    getMigrations: () => Promise.resolve({ '0001_initial': initial(bytes), '0002_witnesses': witnesses(bytes), '0003_statements': statements(bytes), '0004_desk_pending': deskPending(bytes) }),
  };
}
