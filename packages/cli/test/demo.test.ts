/**
 * `backchannel demo --json` is a contract (PRODUCT.md): one JSON document with `passed` and
 * `steps`, exit 0 only if every step passed. The story itself is tested in packages/demo; this
 * checks the verb, as a real process.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';

describe('backchannel demo', () => {
  it('plays the reference story and prints one JSON report', async () => {
    const r = await runCli(['demo', '--json'], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { passed: boolean; steps: { step: number; passed: boolean }[] };
    expect(report.passed).toBe(true);
    expect(report.steps.map((s) => [s.step, s.passed])).toEqual([1, 2, 3, 4, 5, 6].map((n) => [n, true]));
  }, 150_000);

  it('refuses a bad flag as bad usage', async () => {
    const r = await runCli(['demo', '--time-scale', 'fast', '--json']);
    expect(r.code).toBe(2);
    expect((JSON.parse(r.stderr) as { error: { code: string } }).error.code).toBe('usage');
  });
});
