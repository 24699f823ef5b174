/** Real relays for CLI tests, started in process on loopback with temporary SQLite files. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PartyCardJson, RelayCardJson } from '@backchannel/core';
import { freePort, startLoopbackRelay, type LoopbackRelay } from '@backchannel/relay/testing';

export { freePort };

const running: LoopbackRelay[] = [];

/** Starts relay `id` with `parties` in its mandate; its card is written to `dir/<id>.card.json`. */
export async function startTestRelay(
  dir: string,
  id: string,
  parties: readonly PartyCardJson[],
): Promise<{ id: string; card: RelayCardJson; cardPath: string; fingerprint: string }> {
  const relay = await startLoopbackRelay({ id, dir, parties });
  running.push(relay);
  const cardPath = join(dir, `${id}.card.json`);
  await writeFile(cardPath, JSON.stringify(relay.card));
  return { id, card: relay.card, cardPath, fingerprint: relay.card.fingerprint };
}

export async function stopTestRelays(): Promise<void> {
  await Promise.all(running.splice(0).map((r) => r.stop()));
}
