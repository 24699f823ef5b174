/**
 * The flag parsers: properties over generated input (fast-check) plus the edges by name.
 * Every parser either returns a value or throws a usage error (exit 2) — never anything else.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ATTRIBUTION_LEVELS, BackchannelError, PARTY_ID_RE, SUITE_NAMES } from '@backchannel/core';
import { CliError, describeError, sentence } from '../src/errors.js';
import {
  formatListen,
  listenFromUrl,
  parseDbUrl,
  parseFingerprint,
  parseIdList,
  parseListen,
  parsePartyId,
  parseRelayUrl,
  parseSigner,
  parseSuites,
  redactDb,
} from '../src/flags.js';

/** Runs `f`; a thrown error must be a usage error, reported as one sentence with exit 2. */
function returnsOrUsage<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (e) {
    expect(e).toBeInstanceOf(CliError);
    const r = describeError(e);
    expect(r.code).toBe('usage');
    expect(r.exit).toBe(2);
    expect(r.message).not.toMatch(/\n/);
    return undefined;
  }
}

const port = fc.integer({ min: 0, max: 65535 });
const hostName = fc.domain().filter((d) => d.length <= 253);

describe('--listen HOST:PORT', () => {
  it('round-trips every IPv4, IPv6 and host name address', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6(), hostName), port, (host, p) => {
        const text = formatListen({ host, port: p });
        expect(parseListen(text)).toEqual({ host, port: p });
      }),
    );
  });

  it('accepts exactly what it would print, and refuses the rest as usage', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.tuple(fc.oneof(fc.ipV4(), fc.ipV6(), fc.string()), fc.oneof(port.map(String), fc.string())).map(([h, p]) => `${h}:${p}`)), (text) => {
        const parsed = returnsOrUsage(() => parseListen(text));
        if (parsed !== undefined) expect(formatListen(parsed)).toBe(text);
      }),
    );
  });

  it.each(['127.0.0.1', ':80', '127.0.0.1:', '127.0.0.1:65536', '127.0.0.1:-1', '127.0.0.1:08', '127.0.0.1:1e3', '256.0.0.1:1', '1.2.3:80', '::1:80', '[127.0.0.1]:80', '[fe80::1%eth0]:80', 'bad_host:80', ' 127.0.0.1:80', '127.0.0.1:80 '])('refuses %j', (text) => {
    expect(() => parseListen(text)).toThrow(expect.objectContaining({ code: 'usage' }));
  });

  it('defaults from a URL', () => {
    expect(listenFromUrl('http://127.0.0.1:7000')).toEqual({ host: '127.0.0.1', port: 7000 });
    expect(listenFromUrl('https://relay.example/ch')).toEqual({ host: 'relay.example', port: 443 });
    expect(listenFromUrl('http://[::1]:7001')).toEqual({ host: '::1', port: 7001 });
  });
});

describe('ids, suites, signers', () => {
  it('party ids: the protocol grammar exactly', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        expect(returnsOrUsage(() => parsePartyId(s)) !== undefined).toBe(PARTY_ID_RE.test(s));
      }),
    );
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z][a-z0-9-]{0,31}$/), (id) => {
        expect(parsePartyId(id)).toBe(id);
      }),
    );
  });

  it('--allow lists: split on commas, every item checked, duplicates dropped', () => {
    const id = fc.stringMatching(/^[a-z][a-z0-9-]{0,31}$/);
    fc.assert(
      fc.property(fc.array(fc.array(id, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 3 }), (groups) => {
        expect(parseIdList(groups.map((g) => g.join(',')), '--allow')).toEqual([...new Set(groups.flat())]);
      }),
    );
    fc.assert(fc.property(fc.array(fc.string(), { minLength: 1, maxLength: 3 }), (values) => void returnsOrUsage(() => parseIdList(values, '--allow'))));
    expect(() => parseIdList(['us,,ir'], '--allow')).toThrow(expect.objectContaining({ code: 'usage' }));
  });

  it('--suites: any ordering of distinct known suites round-trips; anything else is usage', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray([...SUITE_NAMES], { minLength: 1 }), (suites) => {
        expect(parseSuites(suites.join(','))).toEqual(suites);
      }),
    );
    fc.assert(fc.property(fc.string(), (s) => void returnsOrUsage(() => parseSuites(s))));
    expect(() => parseSuites('')).toThrow(expect.objectContaining({ code: 'usage' }));
  });

  it('--signer id:name:title:level round-trips, and nothing else passes', () => {
    const text = fc.string({ minLength: 1, maxLength: 30 }).filter((s) => !s.includes(':') && /^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+$/u.test(s));
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,20}$/), text, text, fc.constantFrom(...ATTRIBUTION_LEVELS), (id, name, title, level) => {
        expect(parseSigner(`${id}:${name}:${title}:${level}`)).toEqual({ id, name, title, level });
      }),
    );
    fc.assert(fc.property(fc.string(), (s) => void returnsOrUsage(() => parseSigner(s))));
  });
});

describe('URLs and database URLs', () => {
  it('--url: http(s) with a host; no credentials, query or fragment; trailing slashes dropped', () => {
    expect(parseRelayUrl('https://relay.example:7001/')).toBe('https://relay.example:7001');
    expect(parseRelayUrl('http://[::1]:7000/relay')).toBe('http://[::1]:7000/relay');
    for (const bad of ['relay.example', 'ftp://relay.example', 'http://', 'http://a b', 'http://relay.example/?q=1', 'http://relay.example/#x', 'http://u:p@relay.example', 'http://relay.example:99999']) {
      expect(() => parseRelayUrl(bad), bad).toThrow(expect.objectContaining({ code: 'usage' }));
    }
    fc.assert(fc.property(fc.string(), (s) => void returnsOrUsage(() => parseRelayUrl(s))));
    // Generated web URLs: accepted exactly when they carry no query, fragment or credentials.
    fc.assert(
      fc.property(fc.webUrl({ withQueryParameters: true, withFragments: true }), (s) => {
        const parsed = returnsOrUsage(() => parseRelayUrl(s));
        const u = new URL(s);
        if (/[?#]/.test(s) || u.username !== '' || u.password !== '') expect(parsed).toBeUndefined();
        else expect(parsed).toBe(s.replace(/\/+$/, ''));
      }),
      { numRuns: 40 },
    );
  });

  it('--db: sqlite:<path> or postgres://, and a password is never shown', () => {
    expect(parseDbUrl('sqlite:relay.db')).toBe('sqlite:relay.db');
    expect(parseDbUrl('postgresql://relay:pw@127.0.0.1/relay')).toBe('postgresql://relay:pw@127.0.0.1/relay');
    for (const bad of ['sqlite:', 'sqlite::memory:', 'mysql://x', 'relay.db', 'postgres://a b']) expect(() => parseDbUrl(bad), bad).toThrow(expect.objectContaining({ code: 'usage' }));
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9]{12,20}$/), (password) => {
        const shown = redactDb(`postgres://relay:${password}@db.example:5432/relay`);
        expect(shown).toBe('postgres://relay:***@db.example:5432/relay');
        let message = '';
        try {
          parseDbUrl(`mysql://relay:${password}@db.example`);
        } catch (e) {
          message = (e as Error).message;
        }
        expect(message).not.toContain(password);
      }),
    );
  });

  it('--fingerprint: 60 digits with any spaces or dashes', () => {
    const digits = fc.stringMatching(/^[0-9]{60}$/);
    fc.assert(
      fc.property(digits, (d) => {
        const grouped = d.match(/.{5}/g)!.join(' ');
        expect(parseFingerprint(d)).toBe(grouped);
        expect(parseFingerprint(grouped.replace(/ /g, '-'))).toBe(grouped);
      }),
    );
    fc.assert(fc.property(fc.string(), (s) => void returnsOrUsage(() => parseFingerprint(s))));
  });
});

describe('the error path', () => {
  it('makes one sentence of anything', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const out = sentence(s);
        expect(out).not.toMatch(/\s{2}|\n/);
        expect(out).toMatch(/[.!?]$/);
      }),
    );
  });

  it('maps core, system and unknown errors to codes and exit statuses', () => {
    expect(describeError(new BackchannelError('passphrase_wrong', 'wrong passphrase'))).toEqual({ code: 'passphrase_wrong', message: 'Wrong passphrase.', exit: 1 });
    expect(describeError(Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE', address: '::1', port: 7000 }))).toEqual({ code: 'address_in_use', message: 'The address [::1]:7000 is already in use.', exit: 1 });
    expect(describeError(Object.assign(new Error('x'), { code: 'EIO', syscall: 'read' })).code).toBe('io_failed');
    expect(describeError(Object.assign(new Error('db down'), { code: 'unavailable' }))).toEqual({ code: 'unavailable', message: 'Db down.', exit: 1 });
    expect(describeError(new TypeError('oops'))).toMatchObject({ code: 'internal', exit: 1 });
    expect(describeError('a string')).toMatchObject({ code: 'internal', exit: 1 });
    expect(describeError(new CliError('passphrase_required', 'no passphrase')).exit).toBe(2);
    expect(describeError(new CliError('home_missing', 'no home')).exit).toBe(1);
  });
});
