/**
 * Runs the command line as a real child process, the way people run it: node with tsx's CLI
 * on packages/cli/src/main.ts. Each run gets a clean environment (no BACKCHANNEL_* variables
 * from the caller, HOME in a temporary folder, the fast test KDF) and standard input that is
 * not a terminal.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
export const REPO = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../..');
export const TSX_CLI = require.resolve('tsx/cli');
export const MAIN = join(REPO, 'packages/cli/src/main.ts');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export type Env = Record<string, string | undefined>;

const tempDirs: string[] = [];

/** A fresh temporary folder, removed by `cleanupTemp`. */
export async function tempDir(prefix = 'bc-cli-'): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}

export async function cleanupTemp(): Promise<void> {
  await Promise.all(tempDirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

let fakeHome: string | undefined;

/** The environment of a run: only what node needs, plus `extra`. */
export async function cliEnv(extra: Env = {}): Promise<NodeJS.ProcessEnv> {
  fakeHome ??= await tempDir('bc-cli-home-');
  const env: NodeJS.ProcessEnv = { HOME: fakeHome, BACKCHANNEL_TEST_FAST_KDF: '1', NO_COLOR: '1' };
  for (const k of ['PATH', 'TMPDIR']) if (process.env[k] !== undefined) env[k] = process.env[k];
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) Reflect.deleteProperty(env, k);
    else env[k] = v;
  }
  return env;
}

export function spawnCli(args: readonly string[], env: NodeJS.ProcessEnv): ChildProcessByStdio<Writable, Readable, Readable> {
  return spawn(process.execPath, [TSX_CLI, MAIN, ...args], { cwd: REPO, env, stdio: ['pipe', 'pipe', 'pipe'] });
}

export async function runCli(args: readonly string[], opts: { env?: Env; input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  const child = spawnCli(args, await cliEnv(opts.env));
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdin.end(opts.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
  return new Promise((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

/** Parses `{"error":{"code","message"}}`, the one line a --json failure writes to stderr. */
export function jsonError(r: CliResult): { code: string; message: string } {
  const lines = r.stderr.trim().split('\n');
  const last = lines[lines.length - 1] ?? '';
  const v = JSON.parse(last) as { error: { code: string; message: string } };
  return v.error;
}

export function jsonOut(r: CliResult): Record<string, unknown> {
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

export const PASSPHRASES: Env = { BACKCHANNEL_PASSPHRASE: 'station passphrase for tests', BACKCHANNEL_ROOT_PASSPHRASE: 'root passphrase for tests' };

/** Creates a party home through the CLI and returns its folder and card. */
export async function initPartyHome(id: string, name: string, extraArgs: readonly string[] = []): Promise<{ home: string; card: Record<string, unknown>; cardPath: string }> {
  const home = join(await tempDir(), id);
  const r = await runCli(['init', 'party', id, '--name', name, '--home', home, '--json', ...extraArgs], { env: PASSPHRASES });
  if (r.code !== 0) throw new Error(`init party failed: ${r.stderr}`);
  const cardPath = join(home, 'card.json');
  const card = JSON.parse(await readFile(cardPath, 'utf8')) as Record<string, unknown>;
  return { home, card, cardPath };
}

/** Runs `fn` over `items` with at most `limit` at a time (two cores: a few processes at once). */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** The pids whose parent is `pid` (Linux /proc), to check that a stopped command left nothing running. */
export async function childrenOf(pid: number): Promise<number[]> {
  const out: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid …; comm may contain spaces and parentheses, so split after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
