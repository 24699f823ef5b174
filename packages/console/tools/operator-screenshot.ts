/**
 * The operator console's screenshot for the docs (docs/screenshots/operator.png): a relay
 * with its admin listener, two real stations exchanging a day's worth of notes at every
 * precedence (acknowledged, so delivery lags show), one statement published, and chromium
 * logged in with the start-up token.
 *
 *   npx tsx packages/console/tools/operator-screenshot.ts [OUT.png]
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { produceStatement } from '@backchannel/relay';
import { stationWorld } from '../../relay/test/admin/station-world.js';
import { launchBrowser } from '../test/fixtures/browser.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const out = resolve(process.argv[2] ?? `${ROOT}/docs/screenshots/operator.png`);

// A virtual clock for the relay and both desks: six hours of traffic played in seconds.
let offset = -6 * 3_600_000;
const clock = (): number => Date.now() + offset;
const world = await stationWorld({ clock });
try {
  const precedences = ['ROUTINE', 'ROUTINE', 'PRIORITY', 'ROUTINE', 'IMMEDIATE', 'ROUTINE', 'FLASH'] as const;
  let n = 0;
  // Every 20 minutes some consular traffic both ways; a crisis burst (FLASH, IMMEDIATE) near the end.
  for (let slot = 0; offset < -10 * 60_000; slot++) {
    const crisis = offset > -90 * 60_000;
    const count = crisis ? 3 : 1 + (slot % 3);
    for (let i = 0; i < count; i++) {
      const from = (slot + i) % 3 === 0 ? world.ir : world.us;
      const precedence = crisis ? (i === 0 ? 'FLASH' : 'IMMEDIATE') : (precedences[(slot + i) % precedences.length] ?? 'ROUTINE');
      await from.send({ to: from === world.us ? 'ir' : 'us', precedence, subject: `Note ${++n}`, body: 'Sealed: the relay cannot read this.', via: ['ch'], failover: 'none' });
    }
    offset += crisis ? 45_000 : 4 * 60_000;
    await world.ir.sync();
    await world.us.sync();
    offset += crisis ? 10 * 60_000 : 16 * 60_000;
  }
  offset = 0;
  await produceStatement(world.db, world.logKey, { origin: world.origin, pair: ['us', 'ir'], since: Date.now() - 86_400_000, until: Date.now() + 1000 });
  const browser = await launchBrowser({ viewport: { width: 1200, height: 900 } });
  try {
    const page = await browser.context.newPage();
    await page.goto(world.admin.url);
    await page.getByLabel('Login token').fill(world.admin.token);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Statements' }).waitFor();
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
    await page.getByLabel('Window', { exact: true }).selectOption('6h');
    await page.locator('svg.chart rect.bar').first().waitFor();
    mkdirSync(dirname(out), { recursive: true });
    await page.screenshot({ path: out, fullPage: true });
    console.log(`Wrote ${out}`);
  } finally {
    await browser.close();
  }
} finally {
  await world.close();
}
