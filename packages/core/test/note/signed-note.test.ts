import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { concatBytes, fromBase64, fromHex, utf8 } from '../../src/bytes.js';
import { Ed25519Key } from '../../src/ed25519.js';
import {
  MAX_NOTE_SIGNATURES,
  createNoteSigner,
  createNoteVerifier,
  formatNote,
  formatSignatureLine,
  openNote,
  parseSignatureLines,
  signNote,
  type NoteSignature,
  type NoteVerifier,
} from '../../src/note/signed-note.js';
import { SIGNATURE_TYPE_COSIGNATURE_V1, deriveVkey, formatKeyId, parseVkey } from '../../src/note/vkey.js';
import { asText, codeOf, CONTROLS_BUT_NEWLINE, errorOf, keyFromSeedHex, noteText, noteVectors, validVector } from './vectors.js';

const peterVector = validVector('go-note-peterneumann');
const twoVector = validVector('go-note-two-signatures');
const peter = createNoteVerifier(parseVkey(peterVector.vkey!));
const enoch = createNoteVerifier(parseVkey(twoVector.vkeys![1]!));
const peterKey = keyFromSeedHex(peterVector.ed25519SeedHex!);
const enochKey = keyFromSeedHex(twoVector.enochEd25519SeedHex!);
const quote = peterVector.expectText!;

/** Text of a valid note for property tests: no control characters but newline, ends in newline. */
const noteTextArb = fc
  .string({ unit: 'grapheme', maxLength: 60 })
  .map((s) => `${s.replace(CONTROLS_BUT_NEWLINE, '')}\n`);

describe('signed notes: the vectors', () => {
  it.each(noteVectors.valid.filter((v) => v.note !== undefined && v.expectVerifiedBy !== undefined))('opens $id', (v) => {
    const verifier = createNoteVerifier(parseVkey(v.vkey!));
    for (const input of [v.note!, utf8(v.note!)]) {
      const opened = openNote(input, [verifier]);
      expect(opened.verified.map((s) => s.name)).toEqual(v.expectVerifiedBy);
      expect(opened.unverified).toEqual([]);
      if (v.expectText !== undefined) expect(opened.text).toBe(v.expectText);
      expect(opened.text).toBe(noteText(v.note!));
      expect(opened.textBytes).toEqual(utf8(opened.text));
      // Re-serializing the opened note gives back the same bytes.
      expect(formatNote(opened.text, opened.signatures)).toBe(v.note);
    }
  });

  it('go-note-two-signatures: verifies known keys, carries unknown ones, refuses with none', () => {
    const note = twoVector.note!;
    const onlyPeter = openNote(note, [peter]);
    expect(onlyPeter.verified.map((s) => s.name)).toEqual(['PeterNeumann']);
    expect(onlyPeter.unverified.map((s) => s.name)).toEqual(['EnochRoot']);
    expect(onlyPeter.unverified[0]!.keyId).toBe(0xaf0cfe78);
    const both = openNote(note, [enoch, peter]);
    expect(both.verified.map((s) => s.name)).toEqual(['PeterNeumann', 'EnochRoot']);
    expect(both.unverified).toEqual([]);
    expect(errorOf(() => openNote(note, [])).code).toBe('note_unverified');
    expect(errorOf(() => openNote(note, [])).details).toEqual({ signers: ['PeterNeumann+c74f20a3', 'EnochRoot+af0cfe78'] });
  });

  it('reproduces the known-seed signatures byte for byte', () => {
    expect(signNote(quote, [createNoteSigner(peterKey, 'PeterNeumann')])).toBe(peterVector.note);
    // Adding EnochRoot's signature to Peter's note, as the Go example does.
    const opened = openNote(peterVector.note!, [peter]);
    expect(signNote(opened.text, [createNoteSigner(enochKey, 'EnochRoot')], opened.signatures)).toBe(twoVector.note);
    const sigsum = validVector('sigsum-checkpoint-log-signature');
    const sigsumKey = keyFromSeedHex(sigsum.ed25519SeedHex!);
    expect(signNote(noteText(sigsum.note!), [createNoteSigner(sigsumKey, parseVkey(sigsum.vkey!).name)])).toBe(sigsum.note);
  });

  it('re-signing by a key that already signed replaces its old signature', () => {
    const opened = openNote(twoVector.note!, [peter, enoch]);
    const again = signNote(opened.text, [createNoteSigner(peterKey, 'PeterNeumann')], opened.signatures);
    expect(openNote(again, [peter, enoch]).signatures.map((s) => s.name)).toEqual(['EnochRoot', 'PeterNeumann']);
  });

  it.each(noteVectors.malformedNotes.cases.map((c, i) => [i, c] as const))('rejects malformed note #%i', (_i, note) => {
    expect(codeOf(() => openNote(note, [peter]))).toBe('note_malformed');
    expect(codeOf(() => openNote(utf8(note), [peter]))).toBe('note_malformed');
  });

  it('rejects invalid UTF-8', () => {
    expect(codeOf(() => openNote(fromHex(noteVectors.malformedNotes.invalidUtf8CaseHex), [peter]))).toBe('note_malformed');
  });

  it('rejects the whole note when a known key signature fails (signature_invalid, not ignored)', () => {
    const e = errorOf(() => openNote(noteVectors.malformedNotes.badSignatureFromKnownKey.note, [peter]));
    expect(e.code).toBe('signature_invalid');
    expect(e.details).toEqual({ name: 'PeterNeumann', keyId: 'c74f20a3' });
    // Even when another known key verified.
    const bad = noteVectors.malformedNotes.badSignatureFromKnownKey.note;
    const enochLine = twoVector.note!.split('\n').at(-2)!;
    expect(codeOf(() => openNote(`${bad}${enochLine}\n`, [peter, enoch]))).toBe('signature_invalid');
  });
});

describe('signed notes: the rules', () => {
  const signed = peterVector.note!;
  const peterLine = signed.split('\n').at(-2)!;
  const peterRaw = fromBase64(peterLine.split(' ')[2]!);

  it('ignores a signature that shares only the name or only the key ID with a known key', () => {
    const otherId = Uint8Array.from(peterRaw);
    otherId[0]! ^= 1;
    const sameNameOtherId = formatSignatureLine({ name: 'PeterNeumann', keyId: 0xc74f20a2, signature: peterRaw.subarray(4) });
    const sameIdOtherName = formatSignatureLine({ name: 'PeterNeumann2', keyId: 0xc74f20a3, signature: peterRaw.subarray(4) });
    const note = `${quote}\n${sameNameOtherId}${sameIdOtherName}${peterLine}\n`;
    const opened = openNote(note, [peter]);
    expect(opened.verified.map((s) => `${s.name}+${formatKeyId(s.keyId)}`)).toEqual(['PeterNeumann+c74f20a3']);
    expect(opened.unverified.map((s) => `${s.name}+${formatKeyId(s.keyId)}`)).toEqual(['PeterNeumann+c74f20a2', 'PeterNeumann2+c74f20a3']);
    expect(codeOf(() => openNote(`${quote}\n${sameNameOtherId}${sameIdOtherName}`, [peter]))).toBe('note_unverified');
  });

  it('verifies every signature of a known key, repeats included', () => {
    const badLine = noteVectors.malformedNotes.badSignatureFromKnownKey.note.split('\n').at(-2)!;
    expect(codeOf(() => openNote(`${quote}\n${peterLine}\n${badLine}\n`, [peter]))).toBe('signature_invalid');
    const twice = openNote(`${quote}\n${peterLine}\n${peterLine}\n`, [peter]);
    expect(twice.verified).toHaveLength(1);
    expect(twice.signatures).toHaveLength(2);
  });

  it('treats a known key signature of the wrong length as invalid, not as malformed', () => {
    const short = formatSignatureLine({ name: 'PeterNeumann', keyId: 0xc74f20a3, signature: peterRaw.subarray(4, 40) });
    expect(codeOf(() => openNote(`${quote}\n${short}`, [peter]))).toBe('signature_invalid');
  });

  it('refuses ambiguous verifiers as a configuration error', () => {
    expect(codeOf(() => openNote(signed, [peter, peter]))).toBe('key_invalid');
  });

  it('refuses to verify a cosignature key as a plain note key', () => {
    const w = deriveVkey(peterKey, 'PeterNeumann', SIGNATURE_TYPE_COSIGNATURE_V1);
    expect(codeOf(() => createNoteVerifier(w))).toBe('key_invalid');
  });

  it.each([
    ['carriage return in the text', `${quote.replace('\n', '\r\n')}\n${peterLine}\n`],
    ['tab in the text', `\t${quote}\n${peterLine}\n`],
    ['NUL in a signature line', `${quote}\n${peterLine}\u0000\n`],
    ['no final newline', `${quote}\n${peterLine}`],
    ['empty signature block', `${quote}\n`],
    ['blank line after the signatures', `${quote}\n${peterLine}\n\n`],
    ['hyphen instead of em dash', `${quote}\n${peterLine.replace('\u2014', '-')}\n`],
    ['two spaces after the dash', `${quote}\n${peterLine.replace('\u2014 ', '\u2014  ')}\n`],
    ['no space before the signature', `${quote}\n\u2014 PeterNeumann\n`],
    ['empty signature', `${quote}\n\u2014 PeterNeumann \n`],
    ['signature of four bytes (key ID only)', `${quote}\n\u2014 PeterNeumann x08gow==\n`],
    ['base64 without padding', `${quote}\n${peterLine.replace(/=$/, '')}\n`],
    ['non-canonical base64 trailing bits', `${quote}\n${peterLine.replace(/M=$/, 'N=')}\n`],
    ['trailing space', `${quote}\n${peterLine} \n`],
    ['plus in the key name', `${quote}\n${peterLine.replace('PeterNeumann', 'Peter+Neumann')}\n`],
    ['lone surrogate', `\ud800${quote}\n${peterLine}\n`],
  ])('rejects a note with %s as malformed', (_what, note) => {
    expect(codeOf(() => openNote(note, [peter]))).toBe('note_malformed');
  });

  it('allows DEL and non-ASCII in the text, as the spec does', () => {
    const text = 'caf\u00e9 \u007f \ud83d\ude00\n';
    expect(openNote(signNote(text, [createNoteSigner(peterKey, 'PeterNeumann')]), [peter]).text).toBe(text);
  });

  it('keeps a leading byte-order mark: the text is exactly the signed bytes', () => {
    const text = '\ufeffhello\n';
    const note = signNote(text, [createNoteSigner(peterKey, 'PeterNeumann')]);
    const opened = openNote(utf8(note), [peter]);
    expect(opened.text).toBe(text);
    expect(opened.textBytes.subarray(0, 3)).toEqual(Uint8Array.of(0xef, 0xbb, 0xbf));
  });

  it('splits at the last blank line, so the text may contain blank lines', () => {
    for (const text of ['a\n\nb\n', 'a\n\n', '\n', '\n\n\n']) {
      const note = signNote(text, [createNoteSigner(peterKey, 'PeterNeumann')]);
      expect(openNote(note, [peter]).text).toBe(text);
    }
  });

  it(`accepts up to ${MAX_NOTE_SIGNATURES} signatures and refuses more (too_large)`, () => {
    const unknown = (i: number): NoteSignature => ({ name: `w${i}`, keyId: i, signature: Uint8Array.of(1, 2, 3) });
    const many = (n: number): string =>
      `${quote}\n${peterLine}\n${Array.from({ length: n - 1 }, (_, i) => formatSignatureLine(unknown(i))).join('')}`;
    expect(openNote(many(16), [peter]).unverified).toHaveLength(15);
    expect(openNote(many(MAX_NOTE_SIGNATURES), [peter]).signatures).toHaveLength(MAX_NOTE_SIGNATURES);
    expect(codeOf(() => openNote(many(MAX_NOTE_SIGNATURES + 1), [peter]))).toBe('too_large');
  });

  it('signs with several keys at once and verifies with any of them', () => {
    const note = signNote(quote, [createNoteSigner(peterKey, 'PeterNeumann'), createNoteSigner(enochKey, 'EnochRoot')]);
    expect(note).toBe(twoVector.note);
    expect(openNote(note, [enoch]).verified.map((s) => s.name)).toEqual(['EnochRoot']);
  });

  it('refuses to sign or format what it would not accept', () => {
    const signer = createNoteSigner(peterKey, 'PeterNeumann');
    // The caller's mistakes are argument_invalid (or key_invalid for a key's name), never note_malformed.
    expect(codeOf(() => signNote('no newline', [signer]))).toBe('argument_invalid');
    expect(codeOf(() => signNote('bell\u0007\n', [signer]))).toBe('argument_invalid');
    expect(codeOf(() => signNote('\ud800\n', [signer]))).toBe('argument_invalid');
    expect(codeOf(() => signNote(quote, []))).toBe('argument_invalid');
    expect(codeOf(() => createNoteSigner(peterKey, 'bad name'))).toBe('key_invalid');
    expect(codeOf(() => formatSignatureLine({ name: 'a b', keyId: 1, signature: Uint8Array.of(1) }))).toBe('argument_invalid');
    expect(codeOf(() => formatSignatureLine({ name: 'a', keyId: 2 ** 32, signature: Uint8Array.of(1) }))).toBe('argument_invalid');
    expect(codeOf(() => formatSignatureLine({ name: 'a', keyId: 1, signature: new Uint8Array(0) }))).toBe('argument_invalid');
    const unknown: NoteSignature = { name: 'w', keyId: 1, signature: Uint8Array.of(1) };
    expect(codeOf(() => formatNote(quote, Array.from({ length: MAX_NOTE_SIGNATURES + 1 }, () => unknown)))).toBe('argument_invalid');
  });

  it('parses a block of signature lines (a witness response body)', () => {
    const lines = twoVector.note!.slice(twoVector.note!.lastIndexOf('\n\n') + 2);
    expect(parseSignatureLines(lines).map((s) => s.name)).toEqual(['PeterNeumann', 'EnochRoot']);
    expect(parseSignatureLines(lines).map(formatSignatureLine).join('')).toBe(lines);
    expect(codeOf(() => parseSignatureLines(''))).toBe('note_malformed');
    expect(codeOf(() => parseSignatureLines(lines, 1))).toBe('too_large');
  });

  it('rejects inputs of the wrong type with a typed error', () => {
    for (const x of [undefined, null, 1, {}, [1, 2]]) {
      expect(codeOf(() => openNote(asText(x), [peter]))).toBe('note_malformed');
    }
  });

  it('passes the verifier the exact text bytes and the signature after the key ID', () => {
    const seen: [Uint8Array, Uint8Array][] = [];
    const spy: NoteVerifier = { name: 'PeterNeumann', keyId: 0xc74f20a3, verify: (t, s) => (seen.push([t, s]), true) };
    openNote(signed, [spy]);
    expect(seen).toEqual([[utf8(quote), peterRaw.subarray(4)]]);
  });
});

describe('signed notes: properties', () => {
  const signer = createNoteSigner(peterKey, 'PeterNeumann');

  it('round-trips sign/open for any valid text', () => {
    fc.assert(
      fc.property(noteTextArb, (text) => {
        const note = signNote(text, [signer]);
        const opened = openNote(note, [peter]);
        expect(opened.text).toBe(text);
        expect(formatNote(opened.text, opened.signatures)).toBe(note);
      }),
      { numRuns: 200 },
    );
  });

  it('rejects any single changed byte with a typed error', () => {
    const note = utf8(signNote('example.com/log\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n', [signer]));
    fc.assert(
      fc.property(fc.nat(note.length - 1), fc.integer({ min: 1, max: 255 }), (i, delta) => {
        const changed = Uint8Array.from(note);
        changed[i] = (changed[i]! + delta) & 0xff;
        const code = codeOf(() => openNote(changed, [peter]));
        expect(code).toBeDefined();
        expect(code).not.toBe('untyped');
      }),
      { numRuns: 500 },
    );
  });

  it('never throws an untyped error on random input', () => {
    const anyChar = fc.oneof(fc.constantFrom('\n', '\u2014', ' ', '+', '=', 'A'), fc.string({ unit: 'binary', maxLength: 1 }));
    const noteish = fc.array(anyChar, { maxLength: 80 }).map((a) => a.join(''));
    fc.assert(
      fc.property(fc.oneof(noteish, fc.string({ unit: 'binary' })), (s) => {
        expect(codeOf(() => openNote(s, [peter]))).not.toBe('untyped');
        expect(codeOf(() => openNote(`${quote}\n${s}`, [peter]))).not.toBe('untyped');
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        expect(codeOf(() => openNote(b, [peter]))).not.toBe('untyped');
        expect(codeOf(() => openNote(concatBytes(utf8(`${quote}\n\u2014 PeterNeumann `), b), [peter]))).not.toBe('untyped');
      }),
    );
  });

  it('never verifies a random key against the vector', () => {
    const random = createNoteVerifier(deriveVkey(Ed25519Key.generate(), 'PeterNeumann'));
    expect(codeOf(() => openNote(peterVector.note!, [random]))).toBe('note_unverified');
  });
});
