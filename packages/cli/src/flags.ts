/**
 * Parsers for flag values. Each takes the text a person typed and either returns the value or
 * throws a usage error (exit 2) whose one sentence names the flag, what was wrong, and an
 * example of what is right. Grammars are strict (protocol §2.3 for ids): what a flag accepts
 * today it must accept forever, so nothing is accepted by accident.
 */
import { isIPv6 } from 'node:net';
import { ATTRIBUTION_LEVELS, DISPLAY_RE, KEY_ID_RE, PARTY_ID_RE, RELAY_ID_RE, SUITE_NAMES, normalizeFingerprint, type AttributionLevel, type SignerSpec, type SuiteName } from '@backchannel/core';
import { usage } from './errors.js';

/** Quotes user input for a message, so odd characters cannot forge or break the sentence. */
export function quote(value: string): string {
  const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
  return JSON.stringify(shown);
}

export function parsePartyId(value: string, what = 'party id'): string {
  if (!PARTY_ID_RE.test(value)) throw usage(`the ${what} ${quote(value)} is not valid: use 1 to 32 lowercase letters, digits and dashes, starting with a letter (e.g. "us")`);
  return value;
}

export function parseRelayId(value: string): string {
  if (!RELAY_ID_RE.test(value)) throw usage(`the relay id ${quote(value)} is not valid: use 1 to 32 lowercase letters, digits and dashes, starting with a letter (e.g. "ch")`);
  return value;
}

/** Signer and station ids (protocol §2.3): offices such as "mfa.minister", desks such as "desk-2". */
export function parseKeyId(value: string, flag: string): string {
  if (!KEY_ID_RE.test(value)) throw usage(`${flag} ${quote(value)} is not a valid id: use 1 to 64 lowercase letters, digits, dots, dashes and underscores, starting with a letter or digit (e.g. "desk-1")`);
  return value;
}

export function parseDisplay(value: string, flag: string): string {
  if (!DISPLAY_RE.test(value)) throw usage(`${flag} must be 1 to 200 printable characters, with no control characters or line breaks`);
  return value;
}

/** `--suites x25519,xwing`: accepted HPKE suites, most preferred first. */
export function parseSuites(value: string): SuiteName[] {
  const items = value.split(',').map((s) => s.trim());
  const out: SuiteName[] = [];
  for (const s of items) {
    if (!(SUITE_NAMES as readonly string[]).includes(s)) throw usage(`--suites ${quote(value)} is not valid: each suite must be one of ${SUITE_NAMES.join(', ')}, separated by commas (e.g. "x25519,xwing")`);
    if (out.includes(s as SuiteName)) throw usage(`--suites names ${s} twice`);
    out.push(s as SuiteName);
  }
  return out;
}

/** `--signer id:name:title:level`, e.g. `mfa.minister:Jane Doe:Foreign Minister:official`. */
export function parseSigner(value: string): SignerSpec {
  const parts = value.split(':');
  const example = 'e.g. "mfa.minister:Jane Doe:Foreign Minister:official"';
  if (parts.length !== 4) throw usage(`--signer ${quote(value)} must have four parts id:name:title:level, none containing a colon (${example})`);
  const [id, name, title, level] = parts as [string, string, string, string];
  if (!KEY_ID_RE.test(id)) throw usage(`--signer ${quote(value)} has an invalid id: use 1 to 64 lowercase letters, digits, dots, dashes and underscores (${example})`);
  if (!DISPLAY_RE.test(name)) throw usage(`--signer ${quote(value)} has an invalid name: use 1 to 200 printable characters (${example})`);
  if (!DISPLAY_RE.test(title)) throw usage(`--signer ${quote(value)} has an invalid title: use 1 to 200 printable characters (${example})`);
  if (!(ATTRIBUTION_LEVELS as readonly string[]).includes(level)) throw usage(`--signer ${quote(value)} has level ${quote(level)}: it must be ${ATTRIBUTION_LEVELS.join(' or ')}`);
  return { id, name, title, level: level as AttributionLevel };
}

export function parseSigners(values: readonly string[]): SignerSpec[] {
  const out: SignerSpec[] = [];
  for (const v of values) {
    const s = parseSigner(v);
    if (out.some((o) => o.id === s.id)) throw usage(`--signer names the id ${s.id} twice`);
    out.push(s);
  }
  return out;
}

/** `--allow us,ir` (repeatable): party ids, deduplicated, in the order given. */
export function parseIdList(values: readonly string[], flag: string): string[] {
  const out: string[] = [];
  for (const v of values) {
    for (const id of v.split(',')) {
      if (!PARTY_ID_RE.test(id)) throw usage(`${flag} ${quote(v)} is not a comma-separated list of party ids (e.g. "us,ir")`);
      if (!out.includes(id)) out.push(id);
    }
  }
  return out;
}

export interface Listen {
  host: string;
  port: number;
}

const IPV4_RE = /^(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$/;
const LABEL_RE = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;
const PORT_RE = /^(?:0|[1-9][0-9]{0,4})$/;

/** A host name (RFC 1123) whose last label is not all digits, so "256.1.1.1" is not a name. */
function isHostName(host: string): boolean {
  if (host.length > 253) return false;
  const labels = host.split('.');
  return labels.every((l) => LABEL_RE.test(l)) && !/^[0-9]+$/.test(labels[labels.length - 1]!);
}

/**
 * `--listen HOST:PORT`: HOST is an IPv4 address, a host name, or an IPv6 address in brackets
 * (`[::1]:7000`); PORT is 0 to 65535 in plain decimal, 0 meaning any free port.
 */
export function parseListen(value: string, flag = '--listen'): Listen {
  const bad = (why: string): never => {
    throw usage(`${flag} ${quote(value)} is not valid: ${why} (e.g. "127.0.0.1:7000" or "[::1]:7000")`);
  };
  const colon = value.lastIndexOf(':');
  if (colon < 0) return bad('it needs HOST:PORT');
  const hostPart = value.slice(0, colon);
  const portPart = value.slice(colon + 1);
  let host: string;
  if (hostPart.startsWith('[') && hostPart.endsWith(']')) {
    host = hostPart.slice(1, -1);
    if (!isIPv6(host) || host.includes('%')) bad('the bracketed part is not an IPv6 address');
  } else {
    host = hostPart;
    if (host.length === 0) bad('the host is missing');
    if (host.includes(':')) bad('an IPv6 address must be in brackets');
    if (/^[0-9.]+$/.test(host) ? !IPV4_RE.test(host) : !isHostName(host)) bad(`${quote(host)} is not an IPv4 address or a host name`);
  }
  if (!PORT_RE.test(portPart) || Number(portPart) > 65535) bad('the port must be a number from 0 to 65535');
  return { host, port: Number(portPart) };
}

export function formatListen(l: Listen): string {
  return l.host.includes(':') ? `[${l.host}]:${l.port}` : `${l.host}:${l.port}`;
}

// The same grammar as the relay card's url (packages/core identity/relay-card.ts).
const URL_RE = /^https?:\/\/[^\s/?#]+(?:\/[^\s?#]*)?$/;

/** `--url`: where stations reach the relay, written into its card. No credentials, query or fragment. */
export function parseRelayUrl(value: string, flag = '--url'): string {
  const bad = (why: string): never => {
    throw usage(`${flag} ${quote(value)} is not valid: ${why} (e.g. "https://relay.example:7001")`);
  };
  if (value.length > 2048) bad('it is longer than 2048 characters');
  if (!URL_RE.test(value)) bad('it must be an http or https URL with no query or fragment');
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return bad('it is not a URL');
  }
  if (u.username !== '' || u.password !== '') bad('it must not carry a user name or password');
  if (u.hostname === '') bad('it has no host');
  return value.replace(/\/+$/, '');
}

/** The address a URL points at, as a listen address (the default for `serve`). */
export function listenFromUrl(url: string): Listen {
  const u = new URL(url);
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  const port = u.port === '' ? (u.protocol === 'https:' ? 443 : 80) : Number(u.port);
  return { host, port };
}

/**
 * `--db`: `sqlite:<path>` (a relative path is relative to the home folder) or
 * `postgres://user:password@host:port/database` (also `postgresql://`).
 */
export function parseDbUrl(value: string, flag = '--db'): string {
  const bad = (why: string): never => {
    throw usage(`${flag} is not valid: ${why} (e.g. "sqlite:relay.db" or "postgres://relay@db.example/relay")`);
  };
  if (value.startsWith('sqlite:')) {
    const path = value.slice('sqlite:'.length);
    if (path.length === 0) bad('sqlite: needs a file path');
    if (/[\0\r\n]/.test(path)) bad('the file path contains a control character');
    if (path === ':memory:') bad('an in-memory database would lose every envelope on restart');
    return value;
  }
  if (/^postgres(?:ql)?:\/\//.test(value)) {
    try {
      new URL(value);
    } catch {
      return bad('it is not a well-formed PostgreSQL URL');
    }
    if (/[\s\0]/.test(value)) bad('it contains white space');
    return value;
  }
  // Never echo the value: a database URL may carry a password.
  return bad('it must start with sqlite: or postgres://');
}

/** A database URL fit to print: any password replaced by "***". */
export function redactDb(db: string): string {
  if (!/^postgres(?:ql)?:\/\//.test(db)) return db;
  try {
    const u = new URL(db);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://…';
  }
}

/** `--fingerprint`: 60 digits, with any spaces or dashes (as read aloud or printed). */
export function parseFingerprint(value: string): string {
  try {
    return normalizeFingerprint(value);
  } catch {
    throw usage('--fingerprint must be the 60 digits of a fingerprint, in groups or not (e.g. "12345 67890 …")');
  }
}

/** `--via ch,om` (relay ids, comma-separated, deduplicated, in the order given). */
export function parseRelayIdList(value: string, flag: string): string[] {
  const out: string[] = [];
  for (const id of value.split(',')) {
    if (!RELAY_ID_RE.test(id)) throw usage(`${flag} ${quote(value)} is not a comma-separated list of relay ids (e.g. "ch,om")`);
    if (!out.includes(id)) out.push(id);
  }
  return out;
}

/** `--time-scale 0.01`: a positive number up to 1000 that multiplies delivery objectives. */
export function parseTimeScale(value: string): number {
  const n = /^[0-9]+(?:\.[0-9]+)?(?:e-?[0-9]+)?$/.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(n) || n <= 0 || n > 1000) throw usage(`--time-scale ${quote(value)} is not valid: give a positive number up to 1000 (e.g. 0.01)`);
  return n;
}
