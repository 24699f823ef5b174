/**
 * Vitest global setup for the relay's PostgreSQL tests: checks once whether PostgreSQL answers
 * at 127.0.0.1:5432 (user postgres, database test). When it does not, the PostgreSQL suites
 * skip, announced by ONE line here — unless BACKCHANNEL_REQUIRE_PG=1 (CI), then the run fails.
 */
import pg from 'pg';
import type { TestProject } from 'vitest/node';

export const PG_ADMIN_URL = process.env.BACKCHANNEL_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string | null;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    project.provide('pgAdminUrl', PG_ADMIN_URL);
  } catch (e) {
    if (process.env.BACKCHANNEL_REQUIRE_PG === '1') {
      throw new Error(`PostgreSQL is required (BACKCHANNEL_REQUIRE_PG=1) but ${PG_ADMIN_URL} is unreachable: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    console.warn(`relay: PostgreSQL at ${PG_ADMIN_URL} is unreachable; the PostgreSQL suites are skipped`);
    project.provide('pgAdminUrl', null);
  } finally {
    await client.end().catch(() => undefined);
  }
}
