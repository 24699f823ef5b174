/** Scratch PostgreSQL databases for the relay benchmarks, on the server the relay's tests use. */
import pg from 'pg';

/** The server, as an administrator (BACKCHANNEL_TEST_PG, as in the relay's tests). */
export const PG_ADMIN = process.env.BACKCHANNEL_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface ScratchDatabase {
  url: string;
  drop: () => Promise<void>;
}

/**
 * Creates database `name` through `admin`, a connected client of PG_ADMIN (dropping a leftover
 * of the same name first), and ends the client. The caller decides what an unreachable server
 * means, so it connects.
 */
export async function createScratchDatabase(admin: pg.Client, name: string): Promise<ScratchDatabase> {
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(PG_ADMIN);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const a = new pg.Client({ connectionString: PG_ADMIN });
      await a.connect();
      try {
        await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await a.end();
      }
    },
  };
}
