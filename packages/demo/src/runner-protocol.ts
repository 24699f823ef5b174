/** What the demo tells a relay process (a JSON file) and what they say to each other over IPC. */
export interface RunnerConfig {
  id: string;
  name: string;
  /** The URL stations use: the fault proxy in front of this relay. */
  url: string;
  origin: string;
  /** The log key's seed, hex. */
  logSeed: string;
  card: unknown;
  db: string;
  /** Where the relay itself listens on 127.0.0.1. */
  port: number;
  /** Party cards (JSON) for the mandate. */
  mandate: unknown[];
  /** Also witness these logs (vkeys), cosigning with this key. */
  witness?: { seed: string; name: string; logs: string[] };
  /** Offer each new checkpoint to these witnesses. */
  witnesses?: { url: string; vkey: string }[];
}

export type RunnerRequest = { type: 'statement'; ref: number; pair: [string, string]; since: number; until: number };

export type RunnerReply =
  | { type: 'ready'; pid: number; url: string; port: number }
  | { type: 'failed'; message: string }
  | { type: 'statement'; ref: number; bytes: string; count: number; size: number; cosignatures: number }
  | { type: 'error'; ref: number; message: string };
