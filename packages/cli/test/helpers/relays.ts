/** Real relays for CLI tests, started in process on loopback with temporary SQLite files. */
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Ed25519Key, deriveOrigin, makeRelayCard, parsePartyCard, type PartyCardJson, type RelayCardJson } from '@backchannel/core';
import { startRelay, type RunningRelay } from '@backchannel/relay';

const running: RunningRelay[] = [];

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => {
        resolve(port);
      });
    });
  });
}

/** Starts relay `id` with `parties` in its mandate; its card is written to `dir/<id>.card.json`. */
export async function startTestRelay(
  dir: string,
  id: string,
  parties: readonly PartyCardJson[],
): Promise<{ id: string; card: RelayCardJson; cardPath: string; fingerprint: string }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logKey = Ed25519Key.generate();
  const origin = deriveOrigin(url, id);
  const card = makeRelayCard({ id, name: `Relay ${id}`, url, origin, logKey });
  running.push(
    await startRelay({
      id,
      name: `Relay ${id}`,
      url,
      origin,
      logKey,
      card,
      db: `sqlite:${join(dir, `${id}.db`)}`,
      listen: { host: '127.0.0.1', port },
      mandate: parties.map((p) => ({ card: parsePartyCard(p) })),
    }),
  );
  const cardPath = join(dir, `${id}.card.json`);
  await writeFile(cardPath, JSON.stringify(card));
  return { id, card, cardPath, fingerprint: card.fingerprint };
}

export async function stopTestRelays(): Promise<void> {
  await Promise.all(running.splice(0).map((r) => r.close()));
}
