/**
 * Issue 7, thread archives: a real thread between two desks through a real relay is exported,
 * verifies offline, fails on any single changed byte (sampled positions), and renders as HTML
 * with every subject and body escaped.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCbor, encodeCbor, systemRandom } from '@backchannel/core';
import { Station } from '../src/station.js';
import { openSqliteStore } from '../src/store/sqlite-store.js';
import { decodeArchive, exportThreadArchive, renderArchiveHtml, verifyArchive } from '../src/archive.js';
import { keysOf, makeParty, tempDir, type TestParty } from './fixtures/parties.js';
import { realRelay, type RealRelay } from './fixtures/real-relays.js';

const NASTY = '<script>alert("x")</script><b onload=\'y\'>&amp; <img src=x onerror=alert(1)></b>';

async function exportFrom(dir: string, file: string, p: TestParty, thread: string): Promise<Uint8Array> {
  const keys = keysOf(p);
  const store = await openSqliteStore({ path: join(dir, file), storageKey: keys.storageKey, random: systemRandom });
  try {
    return await exportThreadArchive(store, {
      party: p.id,
      thread,
      now: 1_800_000_000_000,
      signerCertificate: (id) => keys.signers.find((s) => s.id === id)?.certificate,
      encryption: keys.encryption,
    });
  } finally {
    await store.close();
  }
}

describe('thread archives', () => {
  const tmp = tempDir('bc-station-archive-');
  let us: TestParty;
  let ir: TestParty;
  let ch: RealRelay;
  let usArchive: Uint8Array;
  let irArchive: Uint8Array;

  beforeAll(async () => {
    const now = Date.now() - 60_000;
    us = await makeParty('us', 'United States', now, systemRandom);
    ir = await makeParty('ir', 'Iran', now, systemRandom);
    ch = await realRelay('ch', 'Swiss protecting power', tmp.dir, [us, ir]);
    const policy = { requestTimeoutMs: 3000, sendTimeoutMs: 4000 };
    const usDesk = await Station.open({ path: join(tmp.dir, 'us.db'), keys: keysOf(us), policy });
    const irDesk = await Station.open({ path: join(tmp.dir, 'ir.db'), keys: keysOf(ir), policy });
    await usDesk.addRelay(ch.card);
    await irDesk.addRelay(ch.card);
    await usDesk.pinParty(JSON.stringify(ir.card), { fingerprint: ir.card.fingerprint });
    await irDesk.pinParty(JSON.stringify(us.card), { fingerprint: us.card.fingerprint });
    const first = await usDesk.send({ to: 'ir', precedence: 'ROUTINE', subject: `Subject ${NASTY}`, body: `Body\n${NASTY}`, via: ['ch'], failover: 'none' });
    await irDesk.sync();
    await irDesk.send({ to: 'us', precedence: 'PRIORITY', subject: 'Re: reply', body: 'received </pre><script>1</script>', via: ['ch'], failover: 'none', replyTo: { from: 'us', id: first.id } });
    await usDesk.sync();
    await irDesk.sync();
    const thread = (await usDesk.show(first.id)).thread ?? first.id;
    await usDesk.close();
    await irDesk.close();
    usArchive = await exportFrom(tmp.dir, 'us.db', us, thread);
    irArchive = await exportFrom(tmp.dir, 'ir.db', ir, first.id);
  }, 60_000);

  afterAll(async () => {
    await ch.stop();
    tmp.remove();
  });

  it('exports a thread with envelopes, receipts, delivery records and checkpoints, and it verifies', () => {
    for (const a of [usArchive, irArchive]) {
      const r = verifyArchive(a);
      expect(r.problems).toEqual([]);
      expect(r.ok).toBe(true);
      expect(r.notes).toBeGreaterThanOrEqual(1);
      expect(r.receipts).toBeGreaterThanOrEqual(1);
      expect(r.checkpoints).toBeGreaterThanOrEqual(1);
      expect(r.content_signatures).toBe(r.notes);
    }
    const body = decodeArchive(usArchive);
    expect(body.parties.map((p) => p.id)).toEqual(['ir', 'us']);
    expect(body.relays.map((r) => r.id)).toEqual(['ch']);
    expect(body.notes.some((n) => n.direction === 'out' && n.copies.some((c) => c.receipt !== undefined))).toBe(true);
    const ir = decodeArchive(irArchive);
    expect(ir.notes.some((n) => n.direction === 'in' && n.copies.some((c) => c.delivery_record !== undefined))).toBe(true);
  });

  it('is deterministic', async () => {
    const again = await exportFrom(tmp.dir, 'us.db', us, decodeArchive(usArchive).thread.id);
    expect(Buffer.from(again).equals(Buffer.from(usArchive))).toBe(true);
  });

  it('fails on any single changed byte (sampled positions)', () => {
    const step = Math.max(1, Math.floor(usArchive.length / 97));
    let tried = 0;
    for (let i = 0; i < usArchive.length; i += step) {
      const bad = Uint8Array.from(usArchive);
      bad[i] = bad[i]! ^ 0x01;
      expect(verifyArchive(bad).ok, `byte ${i}`).toBe(false);
      tried++;
    }
    expect(tried).toBeGreaterThan(90);
  });

  it('fails when the body is altered and its digest recomputed (a forger, not a bit flip)', async () => {
    const { sha256 } = await import('@backchannel/core');
    const outer = decodeCbor(irArchive) as { v: number; type: string; body: Uint8Array; sha256: Uint8Array };
    const body = decodeCbor(outer.body) as unknown as { notes: { copies: { digest: Uint8Array }[] }[] };
    const c = body.notes.flatMap((n) => n.copies)[0]!;
    c.digest = Uint8Array.from(c.digest);
    c.digest[0] = c.digest[0]! ^ 0xff;
    const bodyBytes = encodeCbor(body);
    const forged = encodeCbor({ v: outer.v, type: outer.type, body: bodyBytes, sha256: sha256(bodyBytes) });
    const r = verifyArchive(forged);
    expect(r.ok).toBe(false);
    expect(r.problems.join('\n')).toMatch(/digest|receipt/);
  });

  it('fails when a note content is changed and the body digest recomputed: the signer signature catches it', async () => {
    const { sha256 } = await import('@backchannel/core');
    const outer = decodeCbor(usArchive) as { v: number; type: string; body: Uint8Array; sha256: Uint8Array };
    const body = decodeCbor(outer.body) as unknown as { notes: { content: Uint8Array }[] };
    const n = body.notes[0]!;
    const text = Buffer.from(n.content).toString('latin1').replace('Body', 'Bogy');
    n.content = Uint8Array.from(Buffer.from(text, 'latin1'));
    const bodyBytes = encodeCbor(body);
    const forged = encodeCbor({ v: outer.v, type: outer.type, body: bodyBytes, sha256: sha256(bodyBytes) });
    const r = verifyArchive(forged);
    expect(r.ok).toBe(false);
    expect(r.problems.join('\n')).toMatch(/over the content does not verify/);
  });

  it('renders HTML with subjects and bodies as escaped text', () => {
    const html = renderArchiveHtml(usArchive);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img/i);
    expect(html).not.toMatch(/<b onload/i);
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(html).toContain('&amp;amp;');
    expect(html).toContain('Verification: <strong>OK</strong>');
    expect(renderArchiveHtml(irArchive)).not.toMatch(/<\/pre><script/);
  });
});
