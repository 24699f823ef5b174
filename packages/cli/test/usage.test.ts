/**
 * Bad usage exits 2 with one sentence on standard error (or one JSON error object with
 * --json), before anything is read, asked or written. The whole table runs through the
 * program in process (the same `run` the binary calls), and a sample of it as real processes,
 * which is what proves the exit status reaches the shell.
 */
import { readdir } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { PASSPHRASES, cleanupTemp, mapLimit, runCli, tempDir, type CliResult } from './helpers/cli.js';
import { runInProcess } from './helpers/in-process.js';

afterAll(cleanupTemp);

interface Case {
  args: string[];
  /** A part of the message that names what was wrong. */
  says: string;
  /** Cases that fail before a verb is chosen take no --home. */
  noHome?: true;
}

const CASES: Case[] = [
  { args: ['frobnicate'], says: "unknown command 'frobnicate'", noHome: true },
  { args: ['init'], says: 'say what to create', noHome: true },
  { args: ['init', 'station', 'x'], says: 'no kind of home called "station"', noHome: true },
  { args: ['init', 'party', 'US', '--name', 'X'], says: 'party id "US" is not valid' },
  { args: ['init', 'party', 'us'], says: "required option '--name <name>'" },
  { args: ['init', 'party', 'us', '--name', 'X', 'extra'], says: 'too many arguments' },
  { args: ['init', 'party', 'us', '--name', 'bell\u0007'], says: '--name must be 1 to 200 printable characters' },
  { args: ['init', 'party', 'us', '--name', 'X', '--suites', 'rsa'], says: '--suites "rsa" is not valid' },
  { args: ['init', 'party', 'us', '--name', 'X', '--suites', 'x25519,x25519'], says: 'names x25519 twice' },
  { args: ['init', 'party', 'us', '--name', 'X', '--signer', 'minister'], says: 'must have four parts' },
  { args: ['init', 'party', 'us', '--name', 'X', '--signer', 'a:b:c:boss'], says: 'it must be institutional or official' },
  { args: ['init', 'party', 'us', '--name', 'X', '--station', 'Desk 1'], says: '--station "Desk 1" is not a valid id' },
  { args: ['init', 'relay', 'ch', '--name', 'X', '--url', 'ftp://relay.example'], says: 'http or https URL' },
  { args: ['init', 'relay', 'ch', '--name', 'X', '--url', 'http://user:pw@relay.example'], says: 'user name or password' },
  { args: ['init', 'relay', 'ch', '--name', 'X', '--db', 'mysql://u:secret@db'], says: 'must start with sqlite: or postgres://' },
  { args: ['init', 'relay', '-ch', '--name', 'X'], says: "unknown option '-ch'" },
  { args: ['card', '--hme', '/tmp'], says: 'did you mean --home?' },
  { args: ['trust'], says: "missing required argument 'card'" },
  { args: ['trust', 'card.json', '--allow', 'us,IR'], says: '--allow "us,IR" is not a comma-separated list' },
  { args: ['trust', 'card.json', '--fingerprint', '1234'], says: '--fingerprint must be the 60 digits' },
  { args: ['serve', '--listen', '127.0.0.1'], says: 'it needs HOST:PORT' },
  { args: ['serve', '--listen', '127.0.0.1:65536'], says: 'the port must be a number from 0 to 65535' },
  { args: ['serve', '--listen', '127.0.0.1:080'], says: 'the port must be a number' },
  { args: ['serve', '--listen', '256.0.0.1:80'], says: '"256.0.0.1" is not an IPv4 address or a host name' },
  { args: ['serve', '--listen', '::1:80'], says: 'IPv6 address must be in brackets' },
  { args: ['serve', '--db', 'sqlite:'], says: 'sqlite: needs a file path' },
];

function checkUsageError(c: Case, json: boolean, r: CliResult): void {
  const what = `${c.args.join(' ')} → ${r.stderr}`;
  expect(r.code, what).toBe(2);
  expect(r.stdout, what).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, what).toHaveLength(1);
  let message: string;
  if (json) {
    const err = (JSON.parse(lines[0]!) as { error: { code: string; message: string } }).error;
    expect(err.code, what).toBe('usage');
    message = err.message;
  } else {
    expect(lines[0], what).toMatch(/^backchannel: /);
    message = lines[0]!.slice('backchannel: '.length);
  }
  expect(message.toLowerCase(), what).toContain(c.says.toLowerCase());
  expect(message, what).toMatch(/^[A-Z"'-].*[.?!]$/);
  expect(message, what).not.toContain('secret'); // a database password is never echoed
}

function argsOf(c: Case, home: string, json: boolean): string[] {
  return [...c.args, ...(c.noHome ? [] : ['--home', home]), ...(json ? ['--json'] : [])];
}

describe('bad usage exits 2', () => {
  it('for every case in the table, with and without --json, changing nothing (in process)', async () => {
    const dir = await tempDir();
    for (const c of CASES) {
      for (const json of [false, true]) checkUsageError(c, json, await runInProcess(argsOf(c, `${dir}/h`, json), PASSPHRASES));
    }
    expect(await readdir(dir)).toEqual([]);
  });

  it('as real processes, for a sample of the table', async () => {
    const dir = await tempDir();
    const sample = CASES.filter((_, i) => i % 6 === 0);
    const results = await mapLimit(sample, 2, async (c) => {
      const json = sample.indexOf(c) % 2 === 0;
      return { c, json, r: await runCli(argsOf(c, `${dir}/h`, json), { env: PASSPHRASES }) };
    });
    for (const { c, json, r } of results) checkUsageError(c, json, r);
    expect(await readdir(dir)).toEqual([]);
  });
});
