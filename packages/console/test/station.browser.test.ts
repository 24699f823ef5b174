/**
 * The station console in a real browser (issue 6, "Tests that must pass"): log in (a wrong
 * passphrase refused), read the reference story's notes, see the three copies and the
 * attribution, see the rogue copy's alert with its evidence, see a body full of script and
 * markup shown as text with nothing executed, and compose a FLASH note and watch it get
 * acknowledged live. Real relays on loopback, two parties; no Content-Security-Policy
 * violation may be reported by the page at any point.
 */
import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, launchWatchedPage, type WatchedPage } from './fixtures/browser.js';
import { MARKUP_BODY, US_PASSPHRASE, startStationWorld, type StationWorld } from './fixtures/station-world.js';

const run = browserAvailable('station console browser tests');

describe.runIf(run)('station console in chromium', () => {
  let world: StationWorld;
  let browser: WatchedPage;
  let page: Page;

  beforeAll(async () => {
    world = await startStationWorld();
    await world.startWatching();
    browser = await launchWatchedPage();
    page = browser.page;
  }, 180_000);

  afterAll(async () => {
    await browser.close();
    await world.close();
  }, 60_000);

  it('refuses a wrong passphrase, then logs in with the right one', async () => {
    await page.goto(world.console.url);
    await page.getByLabel('Passphrase or start-up token').fill('not the passphrase');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('not right');
    await page.getByLabel('Passphrase or start-up token').fill(US_PASSPHRASE);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: /Inbox/ }).waitFor();
    await page.getByTestId('live').filter({ hasText: 'Live' }).waitFor();
    const cookies = await browser.context.cookies();
    expect(cookies.map((c) => [c.name, c.httpOnly, c.sameSite])).toEqual([['bc_session', true, 'Strict']]);
  }, 60_000);

  it('lists the story’s threads, unread and FLASH marked, with the rogue copy’s mark', async () => {
    const rows = page.locator('tbody tr');
    await expect.poll(() => rows.count()).toBeGreaterThanOrEqual(5);
    const retaliation = page.locator('tr', { has: page.getByRole('link', { name: 'Retaliation' }) });
    await expect.poll(() => retaliation.textContent()).toContain('Islamic Republic of Iran (institutional)');
    expect(await retaliation.locator('.copy').allTextContents()).toEqual(['ch', 'om', 'qa']);
    expect(await retaliation.getAttribute('class')).toContain('unread');
    const rogue = page.locator('tr', { has: page.getByRole('link', { name: 'Later note' }) });
    expect(await rogue.getAttribute('class')).toContain('flash');
    expect(await rogue.textContent()).toContain('Copies disagree');
    expect(await rogue.locator('.copy.invalid').allTextContents()).toEqual(['qa ✕']);
    const thread = page.locator('tr', { has: page.getByRole('link', { name: 'Re: Do not escalate' }) });
    expect(await thread.textContent()).toContain('A. Minister, Minister of Foreign Affairs');
  }, 60_000);

  it('opens a thread: three identical copies, the institutional attribution, the timeline; and marks it read', async () => {
    await page.getByRole('link', { name: 'Retaliation', exact: true }).click();
    const note = page.locator(`article[data-note="${world.ids.retaliation}"]`);
    await note.waitFor();
    expect(await note.getByTestId('note-body').textContent()).toBe('Retaliation has concluded.');
    expect(await note.locator('.copy').allTextContents()).toEqual(['ch', 'om', 'qa']);
    expect(await note.textContent()).toContain('identical on every channel');
    expect(await note.textContent()).toContain('Islamic Republic of Iran (institutional)');
    const lanes = await note.locator('svg[data-testid="timeline"] g[data-relay]').evaluateAll((gs) => gs.map((g) => g.getAttribute('data-relay')));
    expect(lanes).toEqual(['ch', 'om', 'qa']);
    expect(await note.locator('svg[data-testid="timeline"] .deadline').count()).toBe(1);
    await expect.poll(async () => (await world.usDesk.show(world.ids.retaliation)).status).toBe('read');
  }, 60_000);

  it('shows a body full of script and markup as text, and runs none of it', async () => {
    await page.goto(`${world.console.url}#/thread/${world.ids.markup}`);
    const body = page.locator(`article[data-note="${world.ids.markup}"]`).getByTestId('note-body');
    await body.waitFor();
    expect(await body.textContent()).toBe(MARKUP_BODY);
    expect(await body.isVisible()).toBe(true);
    expect(await page.locator('h1').textContent()).toBe('<i>Markup</i> in the subject');
    expect(await page.locator('#injected-bold').count()).toBe(0);
    expect(await page.locator('article img, article script, article style, article i').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned)).toBeUndefined();
  }, 60_000);

  it('shows the rogue copy’s alert, with its evidence as a JSON download', async () => {
    await page.getByRole('link', { name: 'Alerts' }).click();
    const row = page.locator('tr[data-alert-kind="invalid_copy"]');
    await row.first().waitFor();
    expect(await row.count()).toBe(1);
    expect(await row.textContent()).toContain('qa');
    const [download] = await Promise.all([page.waitForEvent('download'), row.getByRole('link', { name: 'Download JSON' }).click()]);
    const evidence = JSON.parse(await readFile(await download.path(), 'utf8')) as { kind: string; relay: string; note: { id: string }; evidence: { copy?: { envelope?: string } } };
    expect(evidence).toMatchObject({ kind: 'invalid_copy', relay: 'qa', note: { id: world.ids.rogue } });
    expect(typeof evidence.evidence.copy?.envelope).toBe('string');
  }, 60_000);

  it('shows each channel’s health and verifies the logs on demand', async () => {
    await page.getByRole('link', { name: 'Channels' }).click();
    await page.locator('tr[data-relay]').first().waitFor();
    expect(await page.locator('tr[data-relay]').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-relay')))).toEqual(['ch', 'om', 'qa']);
    await page.getByRole('button', { name: 'Verify logs now' }).click();
    await page.getByText(/Logs verified/).waitFor();
    expect(await page.locator('tr[data-relay="ch"]').textContent()).toMatch(/\d+ entries/);
  }, 90_000);

  it('shows a note that arrives while the inbox is open, without a reload', async () => {
    await page.getByRole('link', { name: 'Inbox' }).click();
    // The inbox's own table: the page before it (Channels) has table rows too, still shown for
    // a moment after the click, and counting those made `before` the number of relays.
    const rows = page.getByRole('table', { name: 'Threads, newest first' }).locator('tbody tr');
    await rows.first().waitFor();
    const before = await rows.count();
    await world.irDesk.send({ to: 'us', precedence: 'PRIORITY', category: 'consular', subject: 'Visit approved', body: 'The consular visit is approved for Thursday.', via: ['om'], failover: 'none' });
    await page.getByRole('link', { name: 'Visit approved' }).waitFor({ timeout: 60_000 });
    expect(await rows.count()).toBe(before + 1);
  }, 90_000);

  it('composes a FLASH note and watches it get acknowledged live', async () => {
    await page.getByRole('link', { name: 'Compose' }).click();
    await page.getByLabel('Recipient party').selectOption('ir');
    await page.getByLabel('Precedence').selectOption('FLASH');
    await page.getByLabel('Category').selectOption('security');
    // FLASH goes through every channel by the policy.
    await expect.poll(() => page.locator('input[name="via"]:checked').count()).toBe(3);
    await page.getByLabel('Subject').fill('Stand down');
    await page.getByLabel('Body').fill('Stand down the alert.\n<script>not code</script>');
    await page.getByLabel('Attachments').setInputFiles({ name: 'order.txt', mimeType: 'text/plain', buffer: Buffer.from('Order of the day.') });
    await page.getByRole('button', { name: 'Send FLASH' }).click();
    await page.getByRole('heading', { name: 'Note sent' }).waitFor();
    // No reload: the page learns of the delivery records and the acknowledgement by push.
    await page.getByTestId('send-status').filter({ hasText: 'acknowledged' }).waitFor({ timeout: 60_000 });
    const sent = (await world.usDesk.inbox()).find((e) => e.subject === 'Stand down');
    expect(sent?.status).toBe('acknowledged');
    const received = await world.irDesk.show(sent!.id);
    expect(received.body).toBe('Stand down the alert.\n<script>not code</script>');
    expect(received.attachments).toEqual([{ name: 'order.txt', type: 'text/plain', size: 'Order of the day.'.length }]);
    expect(received.copies.map((c) => c.relay).sort()).toEqual(['ch', 'om', 'qa']);
  }, 120_000);

  it('reported no CSP violation and no page error', () => {
    expect(browser.cspViolations).toEqual([]);
    expect(browser.pageErrors).toEqual([]);
  });
});
