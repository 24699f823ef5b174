/** Scratch PostgreSQL databases for the relay benchmarks, on the server the relay's tests use. */
import { existsSync, readFileSync } from 'node:fs';
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

/** Clock ticks a second in /proc/<pid>/stat (USER_HZ: 100 on Linux). */
const TICKS = 100;

/**
 * CPU (µs) so far of every server process serving the database at `url` (its backends, from
 * pg_stat_activity), by pid, read from /proc: undefined when the server is not a process of
 * this machine (no /proc entry for its pids, or one that is not PostgreSQL's). The admin
 * connection this opens is not counted.
 */
export async function serverCpuMicros(url: string): Promise<Map<number, number> | undefined> {
  const name = new URL(url).pathname.slice(1);
  const admin = new pg.Client({ connectionString: PG_ADMIN, connectionTimeoutMillis: 3000 });
  await admin.connect();
  let pids: number[];
  try {
    const { rows } = await admin.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [name]);
    pids = rows.map((r) => r.pid);
  } finally {
    await admin.end();
  }
  const out = new Map<number, number>();
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      // Gone since the query, or on another machine: only the latter makes the figure unknown.
      if (!existsSync('/proc/self/stat')) return undefined;
      continue;
    }
    // A local process of that pid that is not PostgreSQL's: the server runs elsewhere.
    if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== 'postgres') return undefined;
    // Fields after the command (which may hold spaces): utime and stime are the 12th and 13th.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.set(pid, ((Number(f[11]) + Number(f[12])) * 1e6) / TICKS);
  }
  return pids.length > 0 && out.size === 0 ? undefined : out;
}

/** CPU (µs) the processes used between two readings of serverCpuMicros; new ones count whole. */
export function serverCpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0;
  for (const [pid, us] of after) sum += us - (before.get(pid) ?? 0);
  return sum;
}
