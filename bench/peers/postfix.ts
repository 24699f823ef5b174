/**
 * Postfix as a peer: a private instance (its own configuration folder, queue and port on
 * loopback, `postfix -c DIR start`), mail for a local domain delivered to the discard
 * transport, so what is measured is the SMTP accept: the 250 after DATA comes once the queue
 * file is fsync'd. Clients speak SMTP over node:net (no library in the loop), one message per
 * transaction, 1 and 4 connections. Needs root (Postfix drops to the `postfix` user).
 */
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { concurrentFor, emptyReport, fmtNum, type BenchOptions, type PartReport } from '../lib.js';
import { findExecutable, freePort, onCleanup, runCommand, tempDir, waitUntil } from '../support/procs.js';

export const POSTFIX_PATHS = ['/usr/sbin/postfix'];

// Every service master.cf needs for accept, queue and discard; nothing chrooted (the private
// queue folder holds no chroot files).
function masterCf(port: number): string {
  const svc = (name: string, type: string, priv: string, unpriv: string, wakeup: string, max: string, cmd: string): string =>
    `${name} ${type} ${priv} ${unpriv} n ${wakeup} ${max} ${cmd}`;
  return [
    svc(`127.0.0.1:${port}`, 'inet', 'n', '-', '-', '-', 'smtpd'),
    svc('pickup', 'unix', 'n', '-', '60', '1', 'pickup'),
    svc('cleanup', 'unix', 'n', '-', '-', '0', 'cleanup'),
    svc('qmgr', 'unix', 'n', '-', '300', '1', 'qmgr'),
    svc('rewrite', 'unix', '-', '-', '-', '-', 'trivial-rewrite'),
    svc('bounce', 'unix', '-', '-', '-', '0', 'bounce'),
    svc('defer', 'unix', '-', '-', '-', '0', 'bounce'),
    svc('trace', 'unix', '-', '-', '-', '0', 'bounce'),
    svc('verify', 'unix', '-', '-', '-', '1', 'verify'),
    svc('flush', 'unix', 'n', '-', '1000?', '0', 'flush'),
    svc('proxymap', 'unix', '-', '-', '-', '-', 'proxymap'),
    svc('showq', 'unix', 'n', '-', '-', '-', 'showq'),
    svc('error', 'unix', '-', '-', '-', '-', 'error'),
    svc('retry', 'unix', '-', '-', '-', '-', 'error'),
    svc('discard', 'unix', '-', '-', '-', '-', 'discard'),
    svc('anvil', 'unix', '-', '-', '-', '1', 'anvil'),
    svc('scache', 'unix', '-', '-', '-', '1', 'scache'),
    svc('postlog', 'unix-dgram', 'n', '-', '-', '1', 'postlogd'),
  ].join('\n') + '\n';
}

function mainCf(dir: string): string {
  return `compatibility_level = 3.6
queue_directory = ${dir}/queue
data_directory = ${dir}/data
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = bench.localhost
mydomain = localhost
myorigin = bench.localhost
mydestination = bench.localhost
mynetworks = 127.0.0.0/8
local_transport = discard:
default_transport = discard:
alias_maps =
alias_database =
local_recipient_maps =
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = permit_mynetworks, reject
smtpd_peername_lookup = no
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
smtpd_client_connection_count_limit = 0
smtpd_banner = $myhostname ESMTP
biff = no
maillog_file = ${dir}/maillog
maillog_file_prefixes = ${dir}
`;
}

/** One SMTP connection: send a line, read the reply (multi-line replies end with "NNN "). */
class Smtp {
  private buf = '';
  private waiting: ((line: string) => void) | undefined;
  private constructor(private readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.buf += d;
      this.flush();
    });
  }

  private flush(): void {
    for (;;) {
      const lines = this.buf.split('\r\n');
      const end = lines.findIndex((l) => /^\d{3} /.test(l));
      if (end < 0 || this.waiting === undefined) return;
      const reply = lines.slice(0, end + 1).join('\n');
      this.buf = lines.slice(end + 1).join('\r\n');
      const w = this.waiting;
      this.waiting = undefined;
      w(reply);
    }
  }

  static async open(port: number): Promise<Smtp> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const s = new Smtp(socket);
    await s.expect(undefined, '220');
    await s.expect('EHLO bench.localhost', '250');
    return s;
  }

  expect(line: string | undefined, code: string): Promise<string> {
    return new Promise((resolve, reject) => {
      this.waiting = (reply) => {
        if (reply.startsWith(code)) resolve(reply);
        else reject(new Error(`SMTP: expected ${code} after ${line ?? 'connect'}, got ${reply}`));
      };
      if (line !== undefined) this.socket.write(`${line}\r\n`);
      this.flush();
    });
  }

  async send(body: string): Promise<void> {
    await this.expect('MAIL FROM:<a@bench.localhost>', '250');
    await this.expect('RCPT TO:<b@bench.localhost>', '250');
    await this.expect('DATA', '354');
    await this.expect(`${body}\r\n.`, '250');
  }

  close(): void {
    this.socket.end('QUIT\r\n');
  }
}

/** The uid and gid Postfix's unprivileged processes run as (from /etc/passwd). */
function postfixUser(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postfix:'));
  const f = line?.split(':');
  if (f === undefined || f.length < 4) throw new Error('Postfix is installed but has no postfix user in /etc/passwd');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

export async function runPostfix(opts: BenchOptions, payloadBytes: number): Promise<PartReport> {
  const r = emptyReport();
  const bin = findExecutable(POSTFIX_PATHS);
  if (bin === undefined) {
    r.notes.push('Postfix skipped: /usr/sbin/postfix not found (install it with `apt-get install postfix`).');
    return r;
  }
  if (process.getuid?.() !== 0) {
    r.notes.push('Postfix skipped: a private Postfix instance needs root (it drops to the postfix user).');
    return r;
  }
  const ms = opts.quick ? 1500 : 5000;
  const dir = tempDir('bc-bench-postfix-');
  const etc = join(dir, 'etc');
  for (const d of [etc, join(dir, 'queue'), join(dir, 'data')]) mkdirSync(d, { recursive: true });
  const port = await freePort();
  writeFileSync(join(etc, 'main.cf'), mainCf(dir));
  writeFileSync(join(etc, 'master.cf'), masterCf(port));
  // The master takes its lock in data_directory as the postfix user, and its children reach
  // the queue through the temporary folder.
  const owner = postfixUser();
  chmodSync(dir, 0o755);
  chownSync(join(dir, 'data'), owner.uid, owner.gid);
  const version = (await runCommand('/usr/sbin/postconf', ['-c', etc, '-h', 'mail_version'])).trim();
  const maillog = join(dir, 'maillog');
  try {
    await runCommand(bin, ['-c', etc, 'start']);
  } catch (e) {
    // Postfix reports a failed start in its log, not on a terminal-less stderr.
    const log = existsSync(maillog) ? readFileSync(maillog, 'utf8').trim().split('\n').slice(-3).join(' / ') : '';
    throw new Error(`${e instanceof Error ? e.message : String(e)} ${log}`, { cause: e });
  }
  onCleanup(async () => {
    await runCommand(bin, ['-c', etc, 'stop'], { timeoutMs: 20_000 });
  });
  await waitUntil('Postfix to accept connections', async () => {
    (await Smtp.open(port)).close();
    return true;
  });

  // A 2 KiB body: headers and base64-like lines, as a signed mail's body would be.
  const head = 'From: a@bench.localhost\r\nTo: b@bench.localhost\r\nSubject: bench\r\n\r\n';
  let text = '';
  while (head.length + text.length < payloadBytes) text += `${'A'.repeat(76)}\r\n`;
  const body = (head + text).slice(0, payloadBytes).replace(/\r?\n?$/, '');

  const rows: (string | number)[][] = [];
  for (const conns of [1, 4]) {
    const clients = await Promise.all(Array.from({ length: conns }, () => Smtp.open(port)));
    const free = [...clients];
    const res = await concurrentFor(ms, 100_000, conns, async () => {
      const c = free.pop()!;
      try {
        await c.send(body);
      } finally {
        free.push(c);
      }
    });
    for (const c of clients) c.close();
    r.metrics[`peer.postfix.c${conns}.perSecond`] = res.ops / res.seconds;
    rows.push([`accept, ${conns} connection${conns > 1 ? 's' : ''} (msg/s)`, fmtNum(res.ops / res.seconds), res.ops]);
  }
  r.tables.push({ title: `Postfix ${version} (queue file fsync'd before 250, discard transport)`, columns: ['measure', 'value', 'count'], rows });
  return r;
}
