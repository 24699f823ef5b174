/** The relay database as the CLI's `init relay` and `trust` use it, without serving. */
import type { PartyCard } from '@backchannel/core';
import { addParty, type StatementConsent } from './mandate/mandate.js';
import { openStore } from './store/open-store.js';

/** Creates (or migrates) the relay database: 'sqlite:<path>' or 'postgres://…'. Refuses non-durable settings. */
export async function initRelayDatabase(db: string): Promise<void> {
  const store = await openStore(db);
  await store.close();
}

/**
 * Adds a party (its card's pinned bundle) to the mandate, or updates it. `allow` restricts the
 * parties it may talk with; `statements` records its consent to statements: true opens
 * precedence and digest, false (the default) allows counts only, 'forbid' refuses statements. A different root for a known party is 'root_mismatch'; a newer bundle of the
 * same root replaces the held one.
 */
export async function addPartyToMandate(db: string, card: PartyCard, options: { allow?: string[]; statements?: StatementConsent } = {}): Promise<{ added: boolean; seq: number }> {
  const store = await openStore(db);
  try {
    return await addParty(store, card, options, Date.now());
  } finally {
    await store.close();
  }
}
