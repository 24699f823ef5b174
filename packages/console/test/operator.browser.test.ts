/**
 * The relay operator console in a real browser (issue 6): log in with the token the relay
 * printed at start-up (a wrong one refused), see the mandate, the traffic between the two
 * parties with its counts by direction and precedence, drawn as a chart, the log and the
 * statements — and no content anywhere: the notes' subjects and bodies carry a marker that
 * must not appear in the page. A note sent while the page is open shows up live (event
 * stream). No Content-Security-Policy violation may be reported at any point.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { marker } from '../../relay/test/helpers/world.js';
import { stationWorld, type StationWorld } from '../../relay/test/admin/station-world.js';
import { browserAvailable, launchWatchedPage, type WatchedPage } from './fixtures/browser.js';

const run = browserAvailable('operator console browser tests');

describe.runIf(run)('operator console in chromium', () => {
  let world: StationWorld;
  let browser: WatchedPage;
  let page: Page;
  const markers: string[] = [];

  async function note(from: 'us' | 'ir', precedence: 'FLASH' | 'IMMEDIATE' | 'PRIORITY' | 'ROUTINE'): Promise<void> {
    const m = marker();
    markers.push(m);
    const desk = from === 'us' ? world.us : world.ir;
    await desk.send({ to: from === 'us' ? 'ir' : 'us', precedence, subject: `Subject ${m}`, body: `Body ${m}`, via: ['ch'], failover: 'none' });
  }

  beforeAll(async () => {
    world = await stationWorld();
    await note('us', 'FLASH');
    await note('us', 'FLASH');
    await note('us', 'ROUTINE');
    await note('ir', 'IMMEDIATE');
    await world.ir.sync();
    browser = await launchWatchedPage();
    page = browser.page;
  }, 180_000);

  afterAll(async () => {
    await browser.close();
    await world.close();
  }, 60_000);

  it('refuses a wrong token, then logs in with the start-up token', async () => {
    await page.goto(world.admin.url);
    // By keyboard alone: the token field is the first stop, Enter submits.
    await page.getByRole('heading', { name: 'Relay operator console' }).waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('token');
    await page.keyboard.type('not the token');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('not right');
    await page.getByLabel('Login token').fill(world.admin.token);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
    // Every form control has a label.
    const unlabelled = await page.evaluate(() =>
      Array.from(document.querySelectorAll('input, select, button')).filter((el) => (el as HTMLElement).innerText.trim() === '' && (el as HTMLInputElement).labels?.length === 0).length,
    );
    expect(unlabelled).toBe(0);
    const cookies = await browser.context.cookies();
    expect(cookies.map((c) => [c.name, c.httpOnly, c.sameSite])).toEqual([['bc_session', true, 'Strict']]);
  }, 60_000);

  it('shows the mandate: both parties, their fingerprints grouped for reading, the pair', async () => {
    const table = page.locator('section', { has: page.getByRole('heading', { name: 'Mandate' }) }).locator('table');
    await table.waitFor();
    const text = (await table.textContent()) ?? '';
    expect(text).toContain('United States');
    expect(text).toContain('Islamic Republic of Iran');
    const us = world.parties.us.bundle.bundle;
    expect(us.party).toBe('us');
    const lines = await table.locator('tr', { hasText: 'United States' }).locator('.fp-line').allTextContents();
    expect(lines).toHaveLength(3);
    expect(lines.every((l) => /^\d{5} \d{5} \d{5} \d{5}$/.test(l))).toBe(true);
  }, 60_000);

  it('shows the traffic between the parties with counts by direction and precedence, as a chart', async () => {
    const count = (id: string) => page.getByTestId(id).locator('.count').textContent();
    await expect.poll(() => count('traffic-us-ir-FLASH')).toBe('2');
    expect(await count('traffic-us-ir-ROUTINE')).toBe('1');
    expect(await count('traffic-ir-us-IMMEDIATE')).toBe('1');
    expect(await page.locator('svg.chart rect.bar.prec-FLASH').count()).toBeGreaterThan(0);
    expect(await page.locator('svg.chart').getAttribute('aria-label')).toMatch(/envelopes? in the window/);
    // The log and its checkpoints are there too.
    await page.getByRole('heading', { name: 'Transparency log' }).waitFor();
    expect(await page.getByLabel('latest checkpoint').textContent()).toContain(world.card.origin);
  }, 60_000);

  it('updates live when a note passes through the relay', async () => {
    await note('us', 'FLASH');
    await expect.poll(() => page.getByTestId('traffic-us-ir-FLASH').locator('.count').textContent(), { timeout: 30_000 }).toBe('3');
  }, 60_000);

  it('shows no subject, no body: the markers appear nowhere in the page', async () => {
    const html = await page.content();
    const text = await page.evaluate(() => document.body.innerText);
    expect(markers.length).toBe(5);
    for (const m of markers) {
      expect(html).not.toContain(m);
      expect(text).not.toContain(m);
    }
    expect(text).not.toMatch(/Subject|Body MARKER/);
    expect(browser.cspViolations).toEqual([]);
    expect(browser.pageErrors).toEqual([]);
  }, 60_000);
});
