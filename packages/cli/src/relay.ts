/**
 * The relay server package, loaded only by the verbs that need it (`init relay`, `trust` and
 * `serve` on a relay home), so the other verbs start without loading a web server and a
 * database driver.
 */
import type { addPartyToMandate, initRelayDatabase, startRelay } from '@backchannel/relay';

export interface RelayApi {
  startRelay: typeof startRelay;
  addPartyToMandate: typeof addPartyToMandate;
  initRelayDatabase: typeof initRelayDatabase;
}

export async function loadRelay(): Promise<RelayApi> {
  return import('@backchannel/relay');
}
