/**
 * The group commit's statements (kysely-store.ts, buildCommitStatements): the multi-row INSERT
 * texts reused from an earlier batch of the same shape give exactly what Kysely compiles for
 * the batch afresh, on both dialects (compiling needs no connection); and PostgreSQL's one
 * statement made of them (oneStatement), whose effect the storage contract checks on a server.
 */
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { CompiledQuery, Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { buildCommitStatements, oneStatement } from '../../src/store/kysely-store.js';
import type { CommitBatch } from '../../src/store/relay-store.js';
import type { RelayDatabase } from '../../src/store/schema.js';

const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

function batch(envelopes: number, deliveries: number, seed: number): CommitBatch {
  const T = 1_780_000_000_000 + seed;
  return {
    envelopes: Array.from({ length: envelopes }, (_, i) => ({
      index: seed + i,
      from: 'us',
      id: rnd(16),
      digest: rnd(32),
      bytes: rnd(64),
      to: i % 2 === 0 ? 'ir' : 'ch',
      prec: i % 4,
      created: T,
      size: 64,
      token: rnd(40),
      station: rnd(32),
      received: T + i,
      salt: rnd(32),
      receipt: `receipt ${seed + i}`,
    })),
    deliveries: Array.from({ length: deliveries }, (_, i) => ({ index: seed + envelopes + i, envIndex: i, from: 'us', to: 'ir', desk: rnd(32), record: rnd(80), salt: rnd(32), receipt: `r${i}`, created: T })),
    equivocations: [],
    leaves: Array.from({ length: envelopes + deliveries }, (_, i) => ({ index: seed + i, leaf: rnd(32) })),
    nodes: Array.from({ length: envelopes }, (_, i) => ({ level: 1, index: seed + i, hash: rnd(32) })),
    checkpoint: { size: seed + envelopes + deliveries, root: rnd(32), note: 'note\n', signedAt: T },
  };
}

const dialects = {
  sqlite: () => new Kysely<RelayDatabase>({ dialect: new SqliteDialect({ database: new Database(':memory:') }) }),
  postgres: () => new Kysely<RelayDatabase>({ dialect: new PostgresDialect({ pool: new pg.Pool({ max: 1 }) }) }),
};

describe.each(Object.entries(dialects))('the group commit statements on %s', (_name, make) => {
  it.each([
    [1, 0],
    [2, 1],
    [37, 5],
    [500, 0],
    [731, 1200],
  ])('reuse the text of an earlier batch of %i envelopes and %i deliveries exactly as Kysely compiles it', async (envelopes, deliveries) => {
    const warm = make();
    const fresh = make();
    try {
      buildCommitStatements(warm, batch(envelopes, deliveries, 1));
      const b = batch(envelopes, deliveries, 5000);
      const reused = buildCommitStatements(warm, b);
      const compiled = buildCommitStatements(fresh, b);
      expect(reused.map((q) => ({ sql: q.sql, parameters: q.parameters }))).toEqual(compiled.map((q) => ({ sql: q.sql, parameters: q.parameters })));
      // The INSERTs of the warm instance did come from the reused texts, not from Kysely again.
      expect(reused.filter((q) => q.query.kind === 'RawNode').length).toBeGreaterThan(0);
    } finally {
      await warm.destroy();
      await fresh.destroy();
    }
  });
});

describe('one statement for a PostgreSQL group commit', () => {
  it('renumbers each statement\'s placeholders after the ones before it, and keeps every parameter in order', async () => {
    const db = dialects.postgres();
    try {
      const queries = buildCommitStatements(db, batch(37, 5, 1));
      const one = oneStatement(queries)!;
      expect(one.parameters).toEqual(queries.flatMap((q) => q.parameters));
      const used = [...one.sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1]));
      // Every parameter is referenced, each once (our statements use each of theirs once).
      expect(used.sort((a, b) => a - b)).toEqual(Array.from({ length: one.parameters.length }, (_, i) => i + 1));
      // Each statement is one WITH query, unchanged but for its numbers.
      expect(one.sql.startsWith('with s0 as (insert into "envelopes"')).toBe(true);
      expect(one.sql.endsWith(') select 1')).toBe(true);
      const strip = (sql: string): string => sql.replace(/\$\d+/g, '$');
      queries.forEach((q, i) => {
        expect(strip(one.sql)).toContain(`s${i} as (${strip(q.sql)})`);
      });
      // A batch of the same shape reuses the merged text, with its own parameters.
      const next = buildCommitStatements(db, batch(37, 5, 900));
      const again = oneStatement(next)!;
      expect(again.sql).toBe(one.sql);
      expect(again.parameters).toEqual(next.flatMap((q) => q.parameters));
    } finally {
      await db.destroy();
    }
  });

  it('is the statement itself when there is one, and declines none or more parameters than PostgreSQL takes', () => {
    const q = CompiledQuery.raw('insert into "t" ("a") values ($1)', [1]);
    expect(oneStatement([q])).toBe(q);
    expect(oneStatement([])).toBeUndefined();
    const big = CompiledQuery.raw('insert into "t" ("a") values ($1)', Array.from({ length: 40_000 }, () => 1));
    expect(oneStatement([big, big])).toBeUndefined();
  });
});
