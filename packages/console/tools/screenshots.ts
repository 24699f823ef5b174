/**
 * Screenshots of the station console's pages for the docs (`docs/screenshots/station-*.png`):
 * the reference story's world on loopback (test/fixtures/station-world.ts), `us`'s console in
 * Debian's chromium. Run: `npx tsx packages/console/tools/screenshots.ts`.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from '../test/fixtures/browser.js';
import { US_PASSPHRASE, startStationWorld, waitFor } from '../test/fixtures/station-world.js';

const OUT = fileURLToPath(new URL('../../../docs/screenshots/', import.meta.url));

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const world = await startStationWorld();
  const browser = await launchBrowser({ viewport: { width: 1280, height: 800 } });
  try {
    await world.startWatching();
    const page = await browser.context.newPage();
    const shot = async (name: string): Promise<void> => {
      await page.screenshot({ path: join(OUT, `station-${name}.png`), fullPage: true });
      console.log(`docs/screenshots/station-${name}.png`);
    };
    await page.goto(world.console.url);
    await page.getByLabel('Passphrase or start-up token').waitFor();
    await shot('login');
    await page.getByLabel('Passphrase or start-up token').fill(US_PASSPHRASE);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('tbody tr').nth(4).waitFor();
    await page.getByTestId('live').filter({ hasText: 'Live' }).waitFor();
    await shot('inbox');
    await page.goto(`${world.console.url}#/thread/${world.ids.retaliation}`);
    await page.locator('svg[data-testid="timeline"]').first().waitFor();
    await shot('thread');
    await page.goto(`${world.console.url}#/thread/${world.ids.flash}`);
    await page.locator('svg[data-testid="timeline"]').nth(1).waitFor();
    await shot('thread-reply');
    await page.goto(`${world.console.url}#/compose`);
    await page.getByLabel('Recipient party').selectOption('ir');
    await page.getByLabel('Precedence').selectOption('FLASH');
    await page.getByLabel('Category').selectOption('security');
    await page.getByLabel('Subject').fill('Stand down');
    await page.getByLabel('Body').fill('Stand down the alert on the northern border.\nConfirm through every channel.');
    await shot('compose');
    await page.getByRole('button', { name: 'Send FLASH' }).click();
    await page.getByTestId('send-status').filter({ hasText: 'acknowledged' }).waitFor({ timeout: 60_000 });
    await shot('compose-acknowledged');
    await page.goto(`${world.console.url}#/channels`);
    await page.getByRole('button', { name: 'Verify logs now' }).click();
    await page.getByText(/Logs verified/).waitFor();
    await shot('channels');
    await page.goto(`${world.console.url}#/alerts`);
    await page.locator('tr[data-alert-kind]').first().waitFor();
    await shot('alerts');
    await page.goto(`${world.console.url}#/thread/${world.ids.markup}`);
    await waitFor('the markup note', async () => ((await page.getByTestId('note-body').count()) > 0 ? true : undefined));
    await shot('markup-as-text');
  } finally {
    await browser.close();
    await world.close();
  }
}

await main();
// Everything was closed, but keep-alive sockets to the relays linger for their idle timeout;
// a one-shot tool need not wait for them.
process.exit(0);
