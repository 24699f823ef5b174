/**
 * The Prosody load generator, in a process of its own so that NODE_EXTRA_CA_CERTS can make
 * the run's self-signed certificate trusted (TLS is verified, not switched off). Reads its
 * task as JSON from BENCH_XMPP (port, domain, users, ms, payloadBytes, offline, out), measures and
 * writes one JSON document to the file `out` (a quiet machine collects tens of thousands of
 * latencies, more than the parent keeps of a child's output): online A→B throughput (up to 100 in flight), A→B latency one at a
 * time, and the offline store rate (B offline; the store is done when the server answers a
 * ping sent after the last message, since a session's stanzas are handled in order).
 */
import { writeFileSync } from 'node:fs';
import { client, xml, type XmppClient } from '@xmpp/client';

interface Task {
  port: number;
  domain: string;
  password: string;
  ms: number;
  payloadBytes: number;
  offline: number;
  out: string;
}

const task = JSON.parse(process.env.BENCH_XMPP ?? '{}') as Task;
const now = (): number => performance.timeOrigin + performance.now();

async function login(username: string, onMessage?: (body: string) => void): Promise<XmppClient> {
  const c = client({ service: `xmpp://127.0.0.1:${task.port}`, domain: task.domain, username, password: task.password, resource: 'bench' });
  c.on('error', () => {
    // Reported through start() or the measurement timing out.
  });
  if (onMessage !== undefined) {
    c.on('stanza', (s) => {
      if (s.is('message')) onMessage(s.getChildText('body') ?? '');
    });
  }
  await c.start();
  if (onMessage !== undefined) {
    // Available: Prosody routes a message to a bare JID only to resources that sent presence
    // (otherwise it goes to the offline store). The ping answers once the presence is handled.
    await c.send(xml('presence'));
    await c.iqCaller.request(xml('iq', { type: 'get', to: task.domain }, xml('ping', { xmlns: 'urn:xmpp:ping' })), 30_000);
  }
  return c;
}

function pad(prefix: string): string {
  return prefix + 'x'.repeat(Math.max(0, task.payloadBytes - prefix.length));
}

const message = (body: string): ReturnType<typeof xml> => xml('message', { to: `b@${task.domain}`, type: 'chat' }, xml('body', {}, body));

async function main(): Promise<void> {
  let received = 0;
  let waiter: (() => void) | undefined;
  const b = await login('b', () => {
    received++;
    waiter?.();
  });
  const a = await login('a');

  // The next message B receives, or a timeout (resolves either way; callers re-check counts).
  const nextMessage = (timeoutMs: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      waiter = () => {
        clearTimeout(t);
        resolve();
      };
    });

  // Online throughput: keep up to 100 messages in flight (sent, not yet received by B).
  const t0 = performance.now();
  let sent = 0;
  while (performance.now() - t0 < task.ms) {
    if (sent - received < 100) {
      await a.send(message(pad(`m${sent}:`)));
      sent++;
    } else {
      await nextMessage(5000);
    }
  }
  const drainEnd = Date.now() + 30_000;
  while (received < sent && Date.now() < drainEnd) await nextMessage(5000);
  const online = { sent, received, seconds: (performance.now() - t0) / 1000 };

  // One at a time.
  const latencies: number[] = [];
  const lEnd = performance.now() + task.ms;
  while (performance.now() < lEnd && latencies.length < 50_000) {
    const before = received;
    const s = now();
    const got = nextMessage(10_000);
    await a.send(message(pad('l:')));
    await got;
    if (received === before) throw new Error('a message A sent did not reach B within 10 s');
    latencies.push(now() - s);
  }

  // Offline store: B leaves; A sends; a ping after the last message marks the end.
  await b.stop();
  const o0 = performance.now();
  let stored = 0;
  while (stored < task.offline && performance.now() - o0 < task.ms * 2) {
    await a.send(message(pad(`o${stored}:`)));
    stored++;
  }
  await a.iqCaller.request(xml('iq', { type: 'get', to: task.domain }, xml('ping', { xmlns: 'urn:xmpp:ping' })), 120_000);
  const offline = { stored, seconds: (performance.now() - o0) / 1000 };
  await a.stop();
  writeFileSync(task.out, JSON.stringify({ online, latencies, offline }));
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`xmpp-client: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
