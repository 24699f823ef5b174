/**
 * The station schema's migrations, up and down (STYLE.md §8). Names sort in order; a migration
 * once released is never edited, only followed by another.
 */
import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

/* eslint-disable @typescript-eslint/no-explicit-any -- Kysely types migrations over Kysely<any>: a migration must not depend on today's schema types. */
const initial: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('settings')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('parties')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('fingerprint', 'text', (c) => c.notNull())
      .addColumn('root', 'blob', (c) => c.notNull())
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('bundle', 'blob', (c) => c.notNull())
      .addColumn('is_self', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('pinned_at', 'integer', (c) => c.notNull())
      .addColumn('updated_at', 'integer', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('relays')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('origin', 'text', (c) => c.notNull().unique())
      .addColumn('fingerprint', 'text', (c) => c.notNull())
      .addColumn('card', 'text', (c) => c.notNull())
      .addColumn('rank', 'integer', (c) => c.notNull())
      .addColumn('added_at', 'integer', (c) => c.notNull())
      .addColumn('last_contact', 'integer')
      .addColumn('last_heartbeat', 'integer')
      .addColumn('lag_ms', 'integer')
      .addColumn('last_error_code', 'text')
      .addColumn('last_error_message', 'text')
      .addColumn('last_error_at', 'integer')
      .execute();

    await db.schema
      .createTable('cursors')
      .addColumn('relay', 'text', (c) => c.notNull().references('relays.id'))
      .addColumn('stream', 'text', (c) => c.notNull())
      .addColumn('position', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('cursors_pk', ['relay', 'stream'])
      .execute();

    await db.schema
      .createTable('outgoing')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('to_party', 'text', (c) => c.notNull())
      .addColumn('precedence', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('created', 'integer', (c) => c.notNull())
      .addColumn('deadline', 'integer', (c) => c.notNull())
      .addColumn('digest', 'blob', (c) => c.notNull())
      .addColumn('envelope', 'blob', (c) => c.notNull())
      .addColumn('content', 'blob', (c) => c.notNull())
      .addColumn('thread', 'text')
      .addColumn('reply_from', 'text')
      .addColumn('reply_id', 'text')
      .addColumn('signer', 'text', (c) => c.notNull())
      .addColumn('failover', 'text', (c) => c.notNull())
      .addColumn('acked_at', 'integer')
      .addColumn('read_at', 'integer')
      .addColumn('closed_at', 'integer')
      .addColumn('late_failover_at', 'integer')
      .execute();
    await db.schema.createIndex('outgoing_thread').on('outgoing').column('thread').execute();

    await db.schema
      .createTable('channels')
      .addColumn('note_id', 'text', (c) => c.notNull().references('outgoing.id'))
      .addColumn('relay', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('started_at', 'integer', (c) => c.notNull())
      .addColumn('token', 'blob')
      .addColumn('submitted_at', 'integer')
      .addColumn('receipt', 'text')
      .addColumn('log_index', 'integer')
      .addColumn('error_code', 'text')
      .addColumn('error_message', 'text')
      .addColumn('error_at', 'integer')
      .addColumn('delivered_at', 'integer')
      .addColumn('delivery_record', 'blob')
      .addColumn('delivery_receipt', 'text')
      .addColumn('acked_at', 'integer')
      .addColumn('recipient_arrival_at', 'integer')
      .addColumn('read_at', 'integer')
      .addPrimaryKeyConstraint('channels_pk', ['note_id', 'relay'])
      .execute();

    await db.schema
      .createTable('incoming')
      .addColumn('from_party', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('to_party', 'text', (c) => c.notNull())
      .addColumn('precedence', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('created', 'integer', (c) => c.notNull())
      .addColumn('digest', 'blob', (c) => c.notNull())
      .addColumn('envelope', 'blob', (c) => c.notNull())
      .addColumn('content', 'blob', (c) => c.notNull())
      .addColumn('attribution', 'text', (c) => c.notNull())
      .addColumn('certificate', 'blob', (c) => c.notNull())
      .addColumn('thread', 'text')
      .addColumn('reply_from', 'text')
      .addColumn('reply_id', 'text')
      .addColumn('received_at', 'integer', (c) => c.notNull())
      .addColumn('first_relay', 'text', (c) => c.notNull())
      .addColumn('equivocated', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('read_at', 'integer')
      .addColumn('ack_sent_at', 'integer')
      .addPrimaryKeyConstraint('incoming_pk', ['from_party', 'id'])
      .execute();
    await db.schema.createIndex('incoming_id').on('incoming').column('id').execute();
    await db.schema.createIndex('incoming_thread').on('incoming').column('thread').execute();

    // Copies are keyed by what the relay handed over, not by a merged note: a copy whose
    // bytes fail every check still names (sender, id) in its header, and is kept as evidence.
    await db.schema
      .createTable('copies')
      .addColumn('from_party', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('relay', 'text', (c) => c.notNull())
      .addColumn('digest', 'blob', (c) => c.notNull())
      .addColumn('received_at', 'integer', (c) => c.notNull())
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('token', 'blob', (c) => c.notNull())
      .addColumn('receipt', 'text', (c) => c.notNull())
      .addColumn('log_index', 'integer')
      .addColumn('valid', 'integer', (c) => c.notNull())
      .addColumn('error_code', 'text')
      .addColumn('envelope', 'blob')
      .addColumn('copy_ack', 'blob')
      .addColumn('delivery_record', 'blob')
      .addColumn('delivery_receipt', 'text')
      .addColumn('acked_at', 'integer')
      .addColumn('redeliveries', 'integer', (c) => c.notNull().defaultTo(0))
      .addPrimaryKeyConstraint('copies_pk', ['from_party', 'id', 'relay', 'digest'])
      .execute();

    await db.schema
      .createTable('threads')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('party', 'text', (c) => c.notNull())
      .addColumn('subject', 'blob', (c) => c.notNull())
      .addColumn('started_at', 'integer', (c) => c.notNull())
      .addColumn('last_at', 'integer', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('alerts')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('at', 'integer', (c) => c.notNull())
      .addColumn('relay', 'text')
      .addColumn('party', 'text')
      .addColumn('note_from', 'text')
      .addColumn('note_id', 'text')
      .addColumn('message', 'text', (c) => c.notNull())
      .addColumn('evidence', 'text', (c) => c.notNull())
      .addColumn('dedupe_key', 'text', (c) => c.notNull().unique())
      .addColumn('resolved_at', 'integer')
      .execute();

    await db.schema
      .createTable('checkpoints')
      .addColumn('relay', 'text', (c) => c.notNull())
      .addColumn('size', 'integer', (c) => c.notNull())
      .addColumn('root_hash', 'blob', (c) => c.notNull())
      .addColumn('note', 'text', (c) => c.notNull())
      .addColumn('seen_at', 'integer', (c) => c.notNull())
      .addColumn('consistent', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('checkpoints_pk', ['relay', 'size', 'root_hash'])
      .execute();
  },

  async down(db: Kysely<any>): Promise<void> {
    for (const t of ['checkpoints', 'alerts', 'threads', 'copies', 'incoming', 'channels', 'outgoing', 'cursors', 'relays', 'parties', 'settings']) {
      await db.schema.dropTable(t).execute();
    }
  },
};

/**
 * Indexes of just the work still open, each of which a timer or every burst of notes asks
 * for: the received notes still to acknowledge end to end (end-to-end-ack.ts), and the sent
 * notes whose deadline is still watched (deadlines.ts). Without them each was a scan of every
 * note the desk ever received or sent, blobs and all (~2 ms at 2,500 notes, ~200 ms at
 * 100,000, and growing with the desk's history).
 */
const openWorkIndexes: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createIndex('incoming_ack_pending')
      .on('incoming')
      .columns(['kind', 'received_at', 'from_party', 'id'])
      .where(sql.ref('ack_sent_at'), 'is', null)
      .execute();
    await db.schema
      .createIndex('outgoing_open')
      .on('outgoing')
      .columns(['kind', 'created', 'id'])
      .where(sql.ref('closed_at'), 'is', null)
      .execute();
  },

  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropIndex('outgoing_open').execute();
    await db.schema.dropIndex('incoming_ack_pending').execute();
  },
};
/* eslint-enable @typescript-eslint/no-explicit-any */

export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '0001_initial': initial,
  '0002_open_work_indexes': openWorkIndexes,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve({ ...MIGRATIONS }),
};
