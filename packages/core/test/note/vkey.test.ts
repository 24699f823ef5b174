import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fromBase64, toBase64, toHex } from '../../src/bytes.js';
import { Ed25519Key } from '../../src/ed25519.js';
import {
  SIGNATURE_TYPE_COSIGNATURE_V1,
  SIGNATURE_TYPE_ED25519,
  computeKeyId,
  createVkey,
  deriveVkey,
  formatKeyId,
  formatVkey,
  isValidKeyName,
  parseVkey,
} from '../../src/note/vkey.js';
import { asText, codeOf, e2e, keyFromSeedHex, noteVectors, validVector } from './vectors.js';

const allVkeys: string[] = [
  ...noteVectors.valid.flatMap((v) => [...(v.vkey === undefined ? [] : [v.vkey]), ...(v.vkeys ?? [])]),
  ...noteVectors.vkeyOnly.flatMap((v) => (v.vkey === undefined ? [] : [v.vkey])),
  e2e.logKey.vkey,
  e2e.witnessKey.vkey,
];

describe('vkeys', () => {
  it.each(allVkeys)('parses, recomputes the key ID of and re-formats %s', (text) => {
    const v = parseVkey(text);
    expect(computeKeyId(v.name, v.type, v.publicKey)).toBe(v.keyId);
    expect(formatVkey(v)).toBe(text);
    expect(v.publicKey.length).toBe(32);
  });

  it('reads the signature type: 0x01 for notes, 0x04 for cosignature/v1 witnesses', () => {
    expect(parseVkey(validVector('c2sp-signed-note-spec-example').vkey!).type).toBe(SIGNATURE_TYPE_ED25519);
    const remora = noteVectors.vkeyOnly.find((v) => v.id === 'real-cosignature-v1-vkey')!;
    expect(parseVkey(remora.vkey!).type).toBe(remora.expectType);
    expect(parseVkey(e2e.witnessKey.vkey).type).toBe(SIGNATURE_TYPE_COSIGNATURE_V1);
  });

  it('splits at the first two "+" only: the base64 key may contain "+"', () => {
    const v = parseVkey(validVector('sum.golang.org-real-checkpoint').vkey!);
    expect(v.name).toBe('sum.golang.org');
    expect(formatKeyId(v.keyId)).toBe('033de0ae');
  });

  it.each(noteVectors.badVkeys.cases)('rejects a bad vkey ($why)', ({ vkey }) => {
    expect(codeOf(() => parseVkey(vkey))).toBe('key_invalid');
  });

  it('derives every known-seed vkey exactly', () => {
    const peter = validVector('go-note-peterneumann');
    expect(formatVkey(deriveVkey(keyFromSeedHex(peter.ed25519SeedHex!), 'PeterNeumann'))).toBe(peter.vkey);
    const two = validVector('go-note-two-signatures');
    expect(formatVkey(deriveVkey(keyFromSeedHex(two.enochEd25519SeedHex!), 'EnochRoot'))).toBe(two.vkeys![1]);
    const sigsum = validVector('sigsum-checkpoint-log-signature');
    const sigsumName = parseVkey(sigsum.vkey!).name;
    expect(formatVkey(deriveVkey(keyFromSeedHex(sigsum.ed25519SeedHex!), sigsumName))).toBe(sigsum.vkey);
    const witness = validVector('sigsum-cosignature-v1');
    expect(
      formatVkey(deriveVkey(keyFromSeedHex(witness.ed25519SeedHex!), 'example.org/witness', SIGNATURE_TYPE_COSIGNATURE_V1)),
    ).toBe(witness.vkey);
    expect(formatVkey(deriveVkey(keyFromSeedHex(e2e.logKey.ed25519SeedHex), e2e.logKey.name))).toBe(e2e.logKey.vkey);
    expect(
      formatVkey(deriveVkey(keyFromSeedHex(e2e.witnessKey.ed25519SeedHex), e2e.witnessKey.name, SIGNATURE_TYPE_COSIGNATURE_V1)),
    ).toBe(e2e.witnessKey.vkey);
  });

  it("matches Go's private-key encoding of the PeterNeumann seed (PRIVATE+KEY+<name>+<id>+base64(0x01 || seed))", () => {
    const peter = validVector('go-note-peterneumann');
    const parts = peter.skey!.split('+');
    const tail = parts.slice(4).join('+');
    const raw = fromBase64(tail);
    expect(raw[0]).toBe(SIGNATURE_TYPE_ED25519);
    expect(toHex(raw.subarray(1))).toBe(peter.ed25519SeedHex);
    expect(`${parts[2]!}+${parts[3]!}`).toBe(peter.vkey!.split('+').slice(0, 2).join('+'));
  });

  it('gives one key different IDs under types 0x01 and 0x04', () => {
    const key = keyFromSeedHex(e2e.witnessKey.ed25519SeedHex);
    expect(deriveVkey(key, 'w').keyId).not.toBe(deriveVkey(key, 'w', SIGNATURE_TYPE_COSIGNATURE_V1).keyId);
  });

  it.each([
    ['empty', ''],
    ['space', 'a b'],
    ['plus', 'a+b'],
    ['tab', 'a\tb'],
    ['newline', 'a\nb'],
    ['NBSP', 'a\u00a0b'],
    ['NEL', 'a\u0085b'],
    ['ideographic space', 'a\u3000b'],
    ['line separator', 'a\u2028b'],
    ['en quad', 'a\u2000b'],
    ['control character', 'a\u0001b'],
    ['lone surrogate', 'a\ud800b'],
  ])('refuses a key name with %s', (_what, name) => {
    expect(isValidKeyName(name)).toBe(false);
    expect(codeOf(() => createVkey(name, SIGNATURE_TYPE_ED25519, Ed25519Key.generate().publicKey))).toBe('key_invalid');
  });

  it.each(['example.com/log', 'PeterNeumann', 'oid/1.3.6.1.4.1', 'ünïcødé/😀', 'a\u007fb'])('accepts the key name %s', (name) => {
    expect(isValidKeyName(name)).toBe(true);
  });

  const good = parseVkey(validVector('go-note-peterneumann').vkey!);
  const goodB64 = toBase64(Uint8Array.of(1, ...good.publicKey));
  it.each([
    ['no "+"', 'PeterNeumann'],
    ['one "+"', 'PeterNeumann+c74f20a3'],
    ['uppercase key ID', `PeterNeumann+C74F20A3+${goodB64}`],
    ['short key ID', `PeterNeumann+c74f20a+${goodB64}`],
    ['empty name', `+c74f20a3+${goodB64}`],
    ['no key', 'PeterNeumann+c74f20a3+'],
    ['URL-safe base64', 'sum.golang.org+033de0ae+Ac4zctda0e5eza-HJyk9SxEdh-s3Ux18htTTAD8OuAn8'],
    ['a 32-byte key without its type byte', `PeterNeumann+c74f20a3+${toBase64(good.publicKey)}`],
    ['base64 with whitespace', `PeterNeumann+c74f20a3+ ${goodB64}`],
    ['type byte only', `PeterNeumann+${formatKeyId(computeKeyId('PeterNeumann', 1, new Uint8Array(0)))}+AQ==`],
    ['type 0x02 (ECDSA, unsupported)', `PeterNeumann+c74f20a3+${toBase64(Uint8Array.of(2, ...good.publicKey))}`],
    [
      'small-order public key with a matching key ID',
      `x+${formatKeyId(computeKeyId('x', 1, new Uint8Array(32)))}+${toBase64(Uint8Array.of(1, ...new Uint8Array(32)))}`,
    ],
  ])('rejects a vkey with %s', (_what, text) => {
    expect(codeOf(() => parseVkey(text))).toBe('key_invalid');
  });

  it('rejects inputs of the wrong type with key_invalid', () => {
    for (const x of [undefined, null, 1, {}, new Uint8Array(3)]) {
      expect(codeOf(() => parseVkey(asText(x)))).toBe('key_invalid');
    }
  });

  it('round-trips format/parse for any valid name and key', () => {
    const name = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).filter(isValidKeyName);
    fc.assert(
      fc.property(name, fc.constantFrom(SIGNATURE_TYPE_ED25519, SIGNATURE_TYPE_COSIGNATURE_V1), (n, type) => {
        const v = deriveVkey(Ed25519Key.generate(), n, type);
        const text = formatVkey(v);
        expect(parseVkey(text)).toEqual(v);
        expect(formatVkey(parseVkey(text))).toBe(text);
      }),
      { numRuns: 200 },
    );
  });

  it('never throws an untyped error on random text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (s) => {
        expect(codeOf(() => parseVkey(s))).not.toBe('untyped');
        expect(codeOf(() => parseVkey(`${s}+${formatKeyId(good.keyId)}+${goodB64}`))).not.toBe('untyped');
      }),
    );
  });
});
