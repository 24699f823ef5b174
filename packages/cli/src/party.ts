/**
 * What the station verbs share: the party home they run on (a relay home has no desk), the
 * station opened from it and closed afterwards whatever happens, note-id arguments, and the
 * y/N question `trust` asks on a terminal.
 */
import { createInterface } from 'node:readline';
import type { Station } from '@backchannel/station';
import { CliError } from './errors.js';
import { quote } from './flags.js';
import { isPartyHome, openHome, type Home, type PartyHomeJson } from './home.js';
import type { Io } from './output.js';
import { openStation, type OpenOptions } from './station-home.js';
import { homeDirOf, type Context } from './context.js';

/** The party home of `--home`; a relay home is `not_supported` for a desk's verb. */
export async function partyHomeOf(ctx: Context, o: Record<string, unknown>, verb: string): Promise<Home<PartyHomeJson>> {
  const home = await openHome(homeDirOf(ctx, o));
  if (!isPartyHome(home)) throw new CliError('not_supported', `${verb} works on a party home, and ${home.dir} is relay ${home.json.id}'s home`);
  return home;
}

/** Opens the home's station, runs `fn`, and closes the station even when `fn` fails. */
export async function withStation<T>(ctx: Context, home: Home<PartyHomeJson>, fn: (s: Station) => Promise<T>, opts: OpenOptions = {}): Promise<T> {
  const station = await openStation(ctx, home, opts);
  try {
    return await fn(station);
  } finally {
    await station.close();
  }
}

const ID_RE = /^[0-9a-f]{32}$/;
const PREFIX_RE = /^[0-9a-f]{6,31}$/;

/** A note id argument: 32 hex digits, or a unique prefix of at least 6 (looked up in the inbox). */
export function parseNoteId(value: string, what = 'note id'): string {
  const v = value.toLowerCase();
  if (!ID_RE.test(v) && !PREFIX_RE.test(v)) throw new CliError('usage', `the ${what} ${quote(value)} is not valid: give the 32 hex digits of a note id, or at least its first 6`);
  return v;
}

/** Resolves a prefix to the one note id it starts; a full id is returned as it is. */
export async function resolveNoteId(station: Station, id: string): Promise<string> {
  if (ID_RE.test(id)) return id;
  const ids = [...new Set((await station.inbox()).map((n) => n.id).filter((n) => n.startsWith(id)))];
  if (ids.length === 1) return ids[0]!;
  if (ids.length === 0) throw new CliError('usage', `no note at this station has an id starting with ${id}`);
  throw new CliError('usage', `${ids.length} notes have ids starting with ${id}; give more digits`);
}

/** Asks a yes/no question on the terminal; anything but y or yes is no. */
export function askYesNo(io: Io, question: string): Promise<boolean> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: io.stdin, output: io.stderr, terminal: false });
    let answered = false;
    io.stderr.write(`${question} [y/N] `);
    rl.once('line', (line) => {
      answered = true;
      rl.close();
      resolve(/^\s*y(es)?\s*$/i.test(line));
    });
    rl.once('close', () => {
      if (!answered) {
        io.stderr.write('\n');
        resolve(false);
      }
    });
  });
}
