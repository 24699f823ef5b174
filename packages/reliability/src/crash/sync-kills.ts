/**
 * Killing a station's `backchannel sync` in the middle of its work: the command runs as a real
 * process on a party home; the test watches a relay counter (copies handed out, or copy
 * acknowledgements answered, from /metrics: nothing touches the station's own files while it
 * runs) and sends SIGKILL once it reaches a chosen value, so a kill lands right after a page
 * was fetched or between acknowledgements.
 */
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { cliEnv, MAIN, PASSPHRASES, REPO } from '../../../cli/test/helpers/cli.js';

/** Copies the station store holds (0 before the store exists); read only once no sync runs. */
export function storedCopies(stationDb: string): number {
  if (!existsSync(stationDb)) return 0;
  const db = new Database(stationDb, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    return (db.prepare('SELECT COUNT(*) AS n FROM copies').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

export interface SyncRun {
  /** Killed with SIGKILL before it finished. */
  killed: boolean;
  code: number | null;
  stdout: string;
  stderr: string;
}

export type Progress = 'delivered' | 'acked';

const COUNTERS: Record<Progress, string> = {
  delivered: 'backchannel_relay_envelopes_delivered_total',
  acked: 'backchannel_relay_copies_acked_total',
};

/** The relay's count of copies handed to desks, or of copy acknowledgements answered. */
export async function relayProgress(relayUrl: string, what: Progress): Promise<number> {
  const text = await (await fetch(`${relayUrl}/metrics`)).text();
  const m = new RegExp(`^${COUNTERS[what]} ([0-9.e+]+)$`, 'm').exec(text);
  return m === null ? 0 : Number(m[1]);
}

/**
 * Runs `backchannel sync --home HOME --json`; kills it once the relay's counter `kill.what`
 * reaches `kill.at` (no `kill`: never). Polls every `pollMs`: a condition, not a timing.
 */
export async function syncUntil(home: string, relayUrl: string, kill: { what: Progress; at: number } | undefined, pollMs = 20): Promise<SyncRun> {
  // node --import tsx, not tsx's own CLI: that one runs the command in a child process, which a
  // SIGKILL of the parent would leave running (an orphaned sync still holding the store).
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'sync', '--home', home, '--json'], { cwd: REPO, env: await cliEnv(PASSPHRASES), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdin.end();
  let killed = false;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { resolve(code); }));
  const state = { done: false };
  void exited.then(() => (state.done = true));
  if (kill !== undefined) {
    while (!state.done) {
      if ((await relayProgress(relayUrl, kill.what)) >= kill.at) {
        killed = child.kill('SIGKILL');
        break;
      }
      await Promise.race([exited, new Promise((r) => setTimeout(r, pollMs))]);
    }
  }
  const code = await exited;
  return { killed: killed && code === null, code, stdout, stderr };
}
