/**
 * A PostgreSQL server of the test's own, so that it can be crashed and restarted without
 * touching the shared server other suites use at the same time: `initdb` into a temporary
 * folder, `pg_ctl` on a free loopback port, trust authentication for the postgres user, and
 * the durable settings the relay insists on (fsync, full_page_writes, synchronous_commit: the
 * defaults, stated anyway). initdb refuses to run as root, so as root every server command runs
 * as the `postgres` user, who is given the folder.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@backchannel/relay/testing';

const PG_ROOT = '/usr/lib/postgresql';

/** The newest installed server's bin folder with initdb and pg_ctl, if any. */
export function findPostgresBin(): string | undefined {
  if (!existsSync(PG_ROOT)) return undefined;
  const versions = readdirSync(PG_ROOT)
    .filter((v) => /^[0-9]+$/.test(v))
    .sort((a, b) => Number(b) - Number(a));
  for (const v of versions) {
    const bin = join(PG_ROOT, v, 'bin');
    if (existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'pg_ctl'))) return bin;
  }
  return undefined;
}

export type StopMode = 'immediate' | 'fast' | 'smart';

export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  port: number;
  /** `pg_ctl stop -m <mode>`; `immediate` is a crash of the server (recovery from WAL at the next start). */
  stop(mode: StopMode): void;
  start(): void;
  /** `pg_ctl restart -m <mode>`, waiting until the server accepts connections again. */
  restart(mode: StopMode): void;
  /** Stops the server (immediately) and removes its folder. */
  destroy(): void;
}

export async function startPrivatePostgres(bin: string): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'bc-private-pg-'));
  const data = join(dir, 'data');
  const port = await freePort();
  const root = process.getuid?.() === 0;
  if (root) execFileSync('chown', ['-R', 'postgres:postgres', dir]);
  const pg = (tool: string, args: readonly string[]): void => {
    const cmd = root ? 'runuser' : join(bin, tool);
    const argv = root ? ['-u', 'postgres', '--', join(bin, tool), ...args] : [...args];
    execFileSync(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
  };
  pg('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=on -c full_page_writes=on -c synchronous_commit=on -c max_connections=40`;
  const start = (): void => {
    pg('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
  };
  start();
  let running = true;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop(mode) {
      pg('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
      running = false;
    },
    start() {
      start();
      running = true;
    },
    restart(mode) {
      pg('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'server.log'), '-m', mode, '-w', '-t', '60', 'restart']);
      running = true;
    },
    destroy() {
      try {
        if (running) pg('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
