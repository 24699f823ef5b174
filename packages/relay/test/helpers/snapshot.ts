/** What a refused request must not change: row counts of every table, and the log head. */
import { sql } from 'kysely';
import type { KyselyRelayStore } from '../../src/store/kysely-store.js';

const TABLES = ['parties', 'envelopes', 'equivocations', 'tombstones', 'leaves', 'nodes', 'checkpoints', 'desks', 'desk_items', 'desk_pending', 'delivery_records', 'request_nonces'];

export async function snapshot(store: KyselyRelayStore): Promise<Record<string, number | string>> {
  const db = store.db;
  const out: Record<string, number | string> = {};
  for (const t of TABLES) {
    const r = await sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM ${sql.table(t)}`.execute(db);
    out[t] = Number(r.rows[0]?.n ?? -1);
  }
  const parties = await store.listParties();
  out.bundles = parties.map((p) => `${p.party}:${p.seq}`).join(',');
  out.checkpoint = (await store.latestCheckpoint())?.note ?? '';
  return out;
}
