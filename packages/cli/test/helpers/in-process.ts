/**
 * Runs the program in this process with captured streams: the same `run` the binary calls,
 * for tables of cases that would cost a process each. Real-process tests sit beside these.
 */
import { PassThrough } from 'node:stream';
import { run } from '../../src/main.js';
import type { Io } from '../../src/output.js';
import type { CliResult, Env } from './cli.js';

export async function runInProcess(args: readonly string[], env: Env = {}, input = ''): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const stdin = new PassThrough();
  stdin.end(input);
  let out = '';
  let err = '';
  stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  const io: Io = { env: { BACKCHANNEL_TEST_FAST_KDF: '1', ...env }, stdin, stdout, stderr };
  const code = await run(['node', 'backchannel', ...args], io);
  return { code, signal: null, stdout: out, stderr: err };
}
