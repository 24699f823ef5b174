/**
 * The demo end to end, as a real child process (issue 5, "Tests that must pass"): with --json it
 * plays every step and the FLASH notes arrive within their objective; interrupted while its
 * world keeps running, it leaves no relay process and no temporary folder behind.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { DemoReport } from '../src/index.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const BIN = fileURLToPath(new URL('../src/bin.ts', import.meta.url));

/** What the demo left in TMPDIR: tsx's own compile cache (tsx-<uid>) is tsx's, shared and kept by design. */
function leftovers(dir: string): string[] {
  return readdirSync(dir).filter((e) => !/^tsx-\d+$/.test(e));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the demo; `onLine` may interrupt it (return true to send SIGINT). */
function runDemo(args: string[], tmp: string, onLine?: (line: string) => boolean): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, TMPDIR: tmp },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let pending = '';
    let interrupted = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (onLine === undefined) return;
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const l of lines) {
        if (!interrupted && onLine(l)) {
          interrupted = true;
          child.kill('SIGINT');
        }
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the demo did not finish in time\n${stdout}\n${stderr}`));
    }, 110_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('backchannel demo', () => {
  const tmps: string[] = [];
  const tmp = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'bc-demo-test-'));
    tmps.push(d);
    return d;
  };
  afterAll(() => {
    for (const d of tmps) rmSync(d, { recursive: true, force: true });
  });

  it('--json: plays the six steps, every one passes, the FLASH notes arrive within their objective', async () => {
    const dir = tmp();
    const run = await runDemo(['--json'], dir);
    expect(run.stderr).not.toMatch(/Error/);
    const report = JSON.parse(run.stdout) as DemoReport;
    expect(report.error).toBeUndefined();
    expect(report.steps.map((s) => [s.step, s.passed, s.error ?? null])).toEqual([1, 2, 3, 4, 5, 6].map((n) => [n, true, null]));
    expect(report.passed).toBe(true);
    expect(run.code).toBe(0);

    const flash = report.steps.flatMap((s) => s.notes.filter((n) => n.precedence === 'FLASH').map((n) => ({ step: s.step, ...n })));
    expect(flash.map((n) => n.step)).toEqual([1, 5, 6]);
    for (const n of flash) {
      expect(n.within_objective).toBe(true);
      expect(n.first_arrival_ms).not.toBeNull();
      expect(n.first_arrival_ms!).toBeLessThanOrEqual(n.objective_ms);
      expect(n.objective_ms).toBe(5 * 60_000);
    }
    // Step 3: three identical copies, acknowledged through every channel.
    const s3 = report.steps[2]!.notes[0]!;
    expect(s3.copies.map((c) => c.relay).sort()).toEqual(['ch', 'om', 'qa']);
    expect(s3.consistent).toBe(true);
    expect(s3.attribution_level).toBe('institutional');
    expect(s3.channels.every((c) => c.delivered_ms !== null && c.acked_ms !== null)).toBe(true);
    // Step 4: the statement and the witness cosignature verify.
    expect(report.steps[3]!.statement).toMatchObject({ verified: true });
    expect(report.steps[3]!.statement!.count).toBeGreaterThanOrEqual(5);
    expect(report.steps[3]!.witness).toMatchObject({ verified: true });
    // Step 5: qa's altered copy is an invalid-copy alert.
    expect(report.steps[4]!.alerts.some((a) => a.kind === 'invalid_copy' && a.relay === 'qa' && a.station === 'us')).toBe(true);
    expect(report.steps[4]!.notes[0]!.consistent).toBe(false);
    // Step 6: ch failed, om and qa took over.
    const s6 = report.steps[5]!.notes[0]!;
    expect(s6.failures.map((f) => f.relay)).toEqual(['ch']);
    expect(s6.failover.map((f) => f.relay).sort()).toEqual(['om', 'qa']);

    // Nothing left behind by this run either.
    expect(report.world.relays).toHaveLength(3);
    for (const r of report.world.relays) expect(alive(r.pid)).toBe(false);
    expect(report.world.dir.startsWith(dir)).toBe(true);
    expect(existsSync(report.world.dir)).toBe(false);
    expect(leftovers(dir)).toEqual([]);
  }, 120_000);

  it('interrupted while its world runs: no relay process and no temporary folder is left behind', async () => {
    const dir = tmp();
    const pids: number[] = [];
    let worldDir = '';
    const run = await runDemo([], dir, (line) => {
      const p = /relay \w+ \(.*\): process (\d+) /.exec(line);
      if (p !== null) pids.push(Number(p[1]));
      const w = /world: (\S+)/.exec(line);
      if (w !== null) worldDir = w[1]!;
      return line.includes('The world keeps running');
    });
    expect(run.stdout).toContain('EVERY STEP PASSED');
    expect(run.stdout).toContain('cleaning up');
    expect(run.code).toBe(0);
    expect(pids).toHaveLength(3);
    expect(worldDir.startsWith(dir)).toBe(true);
    for (const pid of pids) expect(alive(pid)).toBe(false);
    expect(existsSync(worldDir)).toBe(false);
    expect(leftovers(dir)).toEqual([]);
  }, 120_000);
});
