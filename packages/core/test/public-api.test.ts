/**
 * A type-confusion table against the public API (STYLE.md §7): every decoder and verifier that
 * takes outside input is fed values of the wrong type and shape, and must answer with a typed
 * BackchannelError — never a TypeError, never a crash, never success.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as core from '../src/index.js';
import { partyCardJson } from '../src/identity/party-card.js';
import { createParty } from '../src/identity/party-keys.js';
import { makeRelayCard } from '../src/identity/relay-card.js';

const confusing: [string, unknown][] = [
  ['undefined', undefined],
  ['null', null],
  ['number', 42],
  ['NaN', Number.NaN],
  ['bigint', 10n],
  ['boolean', true],
  ['empty string', ''],
  ['string', 'hello'],
  ['array', [1, 2, 3]],
  ['object', { a: 1 }],
  ['empty bytes', new Uint8Array(0)],
  ['one byte', new Uint8Array([0xff])],
  ['Buffer of zeros', Buffer.alloc(64)],
  ['ArrayBuffer', new ArrayBuffer(32)],
  ['Uint16Array', new Uint16Array(16)],
  ['function', () => 1],
  ['symbol', Symbol('x')],
];

const vkey = core.deriveVkey(core.Ed25519Key.fromSeed(new Uint8Array(32).fill(1)), 'example.org/log');

// Each entry: a public function that takes outside input, applied to one value.
const decoders: [string, (x: unknown) => unknown][] = [
  ['decodeCbor', (x) => core.decodeCbor(x as Uint8Array)],
  ['openBundle', (x) => core.openBundle(x as Uint8Array)],
  ['openSignerCertificate', (x) => core.openSignerCertificate(x as Uint8Array)],
  ['parsePartyCard', (x) => core.parsePartyCard(x)],
  ['parseRelayCard', (x) => core.parseRelayCard(x)],
  ['parseEnvelope', (x) => core.parseEnvelope(x as Uint8Array)],
  ['decodeHeader', (x) => core.decodeHeader(x as Uint8Array)],
  ['decodeContent', (x) => core.decodeContent(x as Uint8Array)],
  ['openSubmissionToken', (x) => core.openSubmissionToken(x as Uint8Array)],
  ['openRequest', (x) => core.openRequest(x as Uint8Array)],
  ['openCopyAck', (x) => core.openCopyAck(x as Uint8Array)],
  ['openDeliveryRecord', (x) => core.openDeliveryRecord(x as Uint8Array)],
  ['decodeOpening', (x) => core.decodeOpening(x as Uint8Array)],
  ['verifyReceipt', (x) => core.verifyReceipt(x as string, vkey, { type: 'submit', digest: new Uint8Array(32) })],
  ['verifyStatement', (x) => core.verifyStatement(x as Uint8Array, vkey, {})],
  ['openIntegrationPromise', (x) => core.openIntegrationPromise(x as Uint8Array, vkey)],
  ['parseCheckpoint', (x) => core.parseCheckpoint(x as string)],
  ['openCheckpoint', (x) => core.openCheckpoint(x as string, vkey)],
  ['openNote', (x) => core.openNote(x as string, [core.createNoteVerifier(vkey)])],
  ['parseVkey', (x) => core.parseVkey(x as string)],
  ['parseTlogProof', (x) => core.parseTlogProof(x as string)],
  ['parseAddCheckpointRequest', (x) => core.parseAddCheckpointRequest(x as string)],
  ['parseTilePath', (x) => core.parseTilePath(x as string)],
  ['fromBase64', (x) => core.fromBase64(x as string)],
  ['fromHex', (x) => core.fromHex(x as string)],
  ['normalizeFingerprint', (x) => core.normalizeFingerprint(x as string)],
  ['decryptSecret', (x) => core.decryptSecret('pass', 'root', x as Uint8Array)],
  ['verifyRaw (public key)', (x) => core.verifyRaw(x as Uint8Array, new Uint8Array(1), new Uint8Array(64))],
  ['verifyInclusion (leaf hash)', (x) => { core.verifyInclusion(x as Uint8Array, 0, 1, [], new Uint8Array(32)); }],
  ['parsePrecedence', (x) => core.parsePrecedence(x as string)],
];

function outcome(f: () => unknown): string {
  try {
    f();
    return 'ok';
  } catch (e) {
    return core.isBackchannelError(e) ? `typed:${e.code}` : `untyped:${e instanceof Error ? e.name : typeof e}`;
  }
}

// The empty string is a valid encoding of empty bytes for the byte codecs.
const validFor: Record<string, string[]> = { fromBase64: ['empty string'], fromHex: ['empty string'] };

describe('public API type-confusion table', () => {
  for (const [fname, f] of decoders) {
    it.each(confusing.filter(([label]) => !(validFor[fname] ?? []).includes(label)))(`${fname} rejects %s with a typed error`, (_label, value) => {
      expect(outcome(() => f(value))).toMatch(/^typed:/);
    });
  }
});

describe('cards: any single changed character is refused', () => {
  it('party card', async () => {
    const p = await createParty({ id: 'us', name: 'United States', now: Date.UTC(2026, 0, 1), random: core.deterministicRandomForTests('card') });
    const text = JSON.stringify(partyCardJson(p.bundle));
    fc.assert(
      fc.property(fc.nat(text.length - 1), fc.integer({ min: 1, max: 0x7e }), (i, c) => {
        const ch = String.fromCharCode(c);
        fc.pre(text[i] !== ch);
        const changed = text.slice(0, i) + ch + text.slice(i + 1);
        const r = outcome(() => core.parsePartyCard(changed));
        // A change inside the JSON punctuation or whitespace that leaves the same object is no change.
        if (r === 'ok') expect(JSON.parse(changed)).toEqual(JSON.parse(text));
        else expect(r).toMatch(/^typed:/);
      }),
      { numRuns: 400 },
    );
  });

  it('relay card', () => {
    const key = core.Ed25519Key.fromSeed(new Uint8Array(32).fill(3));
    const text = JSON.stringify(makeRelayCard({ id: 'ch', name: 'Swiss', url: 'https://relay.example', origin: 'relay.example/ch/00000000', logKey: key }));
    fc.assert(
      fc.property(fc.nat(text.length - 1), fc.integer({ min: 0x20, max: 0x7e }), (i, c) => {
        const ch = String.fromCharCode(c);
        fc.pre(text[i] !== ch);
        const changed = text.slice(0, i) + ch + text.slice(i + 1);
        const r = outcome(() => core.parseRelayCard(changed));
        if (r === 'ok') expect(JSON.parse(changed)).toEqual(JSON.parse(text));
        else expect(r).toMatch(/^typed:/);
      }),
      { numRuns: 400 },
    );
  });
});
