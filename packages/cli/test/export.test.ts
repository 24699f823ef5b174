/**
 * `export` and `verify-archive` (issue 7): two party homes made with `init party`, one relay
 * started in process (startRelay), `trust` both ways, a note full of markup sent and synced,
 * a reply; then `export THREAD --out --html` on each side, `verify-archive` OK (exit 0), a
 * changed byte fails (exit 3), and the HTML carries the markup only as escaped text.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PartyCardJson } from '@backchannel/core';
import { PASSPHRASES, cleanupTemp, initPartyHome, jsonError, jsonOut, tempDir } from './helpers/cli.js';
import { startTestRelay, stopTestRelays } from './helpers/relays.js';
import { runInProcess } from './helpers/in-process.js';

afterAll(async () => {
  await stopTestRelays();
  await cleanupTemp();
});

const MARKUP = '<script>alert(1)</script><iframe src="https://evil.example"></iframe>';

describe('export and verify-archive', () => {
  let dir: string;
  let us: { home: string; card: PartyCardJson; cardPath: string };
  let ir: { home: string; card: PartyCardJson; cardPath: string };
  let noteId: string;

  beforeAll(async () => {
    process.env.BACKCHANNEL_LOG_LEVEL ??= 'silent';
    us = (await initPartyHome('us', 'United States')) as unknown as typeof us;
    ir = (await initPartyHome('ir', 'Iran')) as unknown as typeof ir;
    dir = await tempDir();
    const { cardPath: relayCard, card } = await startTestRelay(dir, 'ch', [us.card, ir.card]);
    const steps: [string[], string][] = [
      [['trust', ir.cardPath, '--fingerprint', ir.card.fingerprint], us.home],
      [['trust', relayCard, '--fingerprint', card.fingerprint], us.home],
      [['trust', us.cardPath, '--fingerprint', us.card.fingerprint], ir.home],
      [['trust', relayCard, '--fingerprint', card.fingerprint], ir.home],
    ];
    for (const [args, home] of steps) {
      const r = await runInProcess([...args, '--home', home, '--json'], PASSPHRASES);
      expect(r.code, r.stderr).toBe(0);
    }
    const sent = await runInProcess(['send', '--to', 'ir', '--precedence', 'PRIORITY', '--subject', `About ${MARKUP}`, '--body', `Body ${MARKUP} & more`, '--failover', 'none', '--home', us.home, '--json'], PASSPHRASES);
    expect(sent.code, sent.stderr).toBe(0);
    noteId = jsonOut(sent).id as string;
    const synced = await runInProcess(['sync', '--home', ir.home, '--json'], PASSPHRASES);
    expect(synced.code, synced.stderr).toBe(0);
    const back = await runInProcess(['sync', '--home', us.home, '--json'], PASSPHRASES);
    expect(back.code, back.stderr).toBe(0);
  }, 120_000);

  it('exports a thread on both sides and the archives verify (exit 0)', async () => {
    for (const p of [us, ir]) {
      const out = join(dir, `${p.card.id}.archive`);
      const html = join(dir, `${p.card.id}.html`);
      const e = await runInProcess(['export', noteId, '--out', out, '--html', html, '--home', p.home, '--json'], PASSPHRASES);
      expect(e.code, e.stderr).toBe(0);
      expect(jsonOut(e)).toMatchObject({ ok: true, problems: [] });
      const v = await runInProcess(['verify-archive', out, '--json']);
      expect(v.code, v.stderr).toBe(0);
      expect(jsonOut(v)).toMatchObject({ ok: true, problems: [] });
      expect(jsonOut(v).content_signatures).toBe(jsonOut(v).notes);
      const text = await readFile(html, 'utf8');
      expect(text).not.toMatch(/<script|<iframe/i);
      expect(text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&lt;iframe src=&quot;https://evil.example&quot;&gt;');
      expect(text).toContain('&amp; more');
    }
    const human = await runInProcess(['verify-archive', join(dir, 'ir.archive')]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/verifies/);
  });

  it('a changed byte fails with exit 3; a missing file exits 1; a bad id exits 2', async () => {
    const bytes = await readFile(join(dir, 'ir.archive'));
    for (const at of [0, 7, Math.floor(bytes.length / 3), Math.floor(bytes.length / 2), bytes.length - 40, bytes.length - 1]) {
      const bad = Buffer.from(bytes);
      bad[at] = bad[at]! ^ 0x20;
      const path = join(dir, `bad-${at}.archive`);
      await writeFile(path, bad);
      const v = await runInProcess(['verify-archive', path, '--json']);
      expect(v.code, `byte ${at}: ${v.stdout}`).toBe(3);
    }
    const missing = await runInProcess(['verify-archive', join(dir, 'nope.archive'), '--json']);
    expect(missing.code).toBe(1);
    expect(jsonError(missing).code).toBe('file_not_found');
    const badId = await runInProcess(['export', 'not-an-id', '--out', join(dir, 'x'), '--home', us.home, '--json'], PASSPHRASES);
    expect(badId.code).toBe(2);
    const unknown = await runInProcess(['export', 'ab'.repeat(16), '--out', join(dir, 'x'), '--home', us.home, '--json'], PASSPHRASES);
    expect(unknown.code).toBe(1);
    expect(jsonError(unknown).code).toBe('not_found');
  });
});
