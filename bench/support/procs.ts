/**
 * Processes, ports and temporary folders for the harness. Everything a part starts is
 * registered here, so the harness stops it at the end of the part even when the part fails,
 * and on SIGINT/SIGTERM before exiting: no peer or relay outlives a run.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Cleanup = () => Promise<void> | void;
const cleanups: Cleanup[] = [];

/** Registers `fn` to run at the end of the current part (last registered runs first). */
export function onCleanup(fn: Cleanup): void {
  cleanups.push(fn);
}

/** Runs every registered cleanup; a failing one is reported and the rest still run. */
export async function runCleanups(): Promise<string[]> {
  const errors: string[] = [];
  while (cleanups.length > 0) {
    const fn = cleanups.pop()!;
    try {
      await fn();
    } catch (e) {
      errors.push(e instanceof Error ? e.message : String(e));
    }
  }
  return errors;
}

let signalsHooked = false;
/** On SIGINT/SIGTERM: clean up, then exit 130. */
export function hookSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  const stop = (): void => {
    process.stderr.write('bench: interrupted, stopping what the run started …\n');
    void runCleanups().finally(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** A port free right now on loopback (the relay's testing helper). */
export { freePort } from '../../packages/relay/testing/free-port.js';

/** A temporary folder, removed at cleanup. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onCleanup(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** The first of `paths` that exists, or undefined. */
export function findExecutable(paths: readonly string[]): string | undefined {
  return paths.find((p) => existsSync(p));
}

export interface Child {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop: (graceMs?: number) => Promise<void>;
}

/** Spawns a process that is stopped at cleanup (stdout and stderr kept, last 64 KiB). */
export function startChild(cmd: string, args: readonly string[], opts: SpawnOptions = {}): Child {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  let out = '';
  const keep = (d: Buffer): void => {
    out += d.toString();
    if (out.length > 65_536) out = out.slice(-65_536);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      resolve(code);
    });
    child.once('error', (e) => {
      out += `\n${e.message}`;
      resolve(null);
    });
  });
  let gone = false;
  void exited.then(() => (gone = true));
  const stop = async (graceMs = 5000): Promise<void> => {
    if (gone) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(t);
  };
  onCleanup(() => stop());
  return { child, output: () => out, exited, stop };
}

/** Runs a command to completion (bounded by `timeoutMs`); rejects with its output when it fails. */
export function runCommand(cmd: string, args: readonly string[], opts: SpawnOptions & { timeoutMs?: number; input?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.stdin?.end(opts.input ?? '');
    child.once('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(t);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? String(code)}): ${out.trim().slice(-600)}`));
    });
  });
}

/** Polls `check` until it is true or `timeoutMs` passes (then rejects with `what`). */
export async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
