/**
 * The interactive passphrase prompt, on a real pseudo-terminal. Node has no pty module, so a
 * short Python script (standard library `pty`) plays the person at the terminal; the test is
 * skipped where python3 is not installed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAIN, TSX_CLI, cleanupTemp, tempDir } from './helpers/cli.js';

afterAll(cleanupTemp);

const hasPython = spawnSync('python3', ['-c', 'import pty'], { stdio: 'ignore' }).status === 0;

// Answers each prompt (a line ending in ": ") with the next answer, typed only once the prompt
// is shown, as a person would; prints the whole terminal transcript and the exit status.
const DRIVER = `
import json, os, pty, select, sys, time
args, answers = json.loads(sys.argv[1]), json.loads(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    os.execvpe(args[0], args, os.environ)
out, asked, deadline = b"", 0, time.time() + 25
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.1)
    if not r:
        continue
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    out += data
    if asked < len(answers) and out.count(b": ") > asked and out.endswith(b": "):
        os.write(fd, answers[asked].encode() + b"\\r")
        asked += 1
_, status = os.waitpid(pid, 0)
sys.stdout.write(json.dumps({"out": out.decode(errors="replace"), "code": os.waitstatus_to_exitcode(status)}))
`;

function onTerminal(cliArgs: string[], answers: string[]): Promise<{ out: string; code: number }> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', BACKCHANNEL_TEST_FAST_KDF: '1', NO_COLOR: '1' };
  const child = spawn('python3', ['-c', DRIVER, JSON.stringify([process.execPath, TSX_CLI, MAIN, ...cliArgs]), JSON.stringify(answers)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (text += s));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', () => {
      resolve(JSON.parse(text) as { out: string; code: number });
    });
  });
}

describe.skipIf(!hasPython)('passphrase prompt on a terminal', () => {
  it('asks twice for each passphrase, echoes nothing, and creates the home', async () => {
    const home = join(await tempDir(), 'us');
    const r = await onTerminal(['init', 'party', 'us', '--name', 'United States', '--home', home], ['desk words', 'desk words', 'seal words', 'seal words']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('Passphrase for the station keys: ');
    expect(r.out).toContain('Passphrase for the ROOT key');
    expect(r.out).not.toContain('words'); // no echo
    expect(r.out).toContain('Created party us');
    expect(await readdir(home)).toContain('home.json');
  });

  it('refuses two different entries (exit 2) and creates nothing', async () => {
    const parent = await tempDir();
    const r = await onTerminal(['init', 'party', 'us', '--name', 'United States', '--home', join(parent, 'us')], ['alpha words', 'beta words']);
    expect(r.code, r.out).toBe(2);
    expect(r.out).toContain('The two passphrases differ; nothing was created.');
    expect(r.out).not.toContain('words');
    expect(await readdir(parent)).toEqual([]);
  });
});
