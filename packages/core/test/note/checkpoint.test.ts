import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fromBase64, toBase64, utf8 } from '../../src/bytes.js';
import {
  formatCheckpoint,
  openCheckpoint,
  parseCheckpoint,
  parseDecimal,
  parseHashLine,
  signCheckpoint,
  type Checkpoint,
} from '../../src/note/checkpoint.js';
import { createNoteSigner, createNoteVerifier, openNote, signNote } from '../../src/note/signed-note.js';
import { SIGNATURE_TYPE_COSIGNATURE_V1, deriveVkey, parseVkey } from '../../src/note/vkey.js';
import { asText, codeOf, CONTROLS, e2e, errorOf, keyFromSeedHex, noteText, validVector } from './vectors.js';

const logKey = keyFromSeedHex(e2e.logKey.ed25519SeedHex);
const logVkey = parseVkey(e2e.logKey.vkey);
const root = (note: string): Uint8Array => fromBase64(noteText(note).split('\n')[2]!);

describe('checkpoints: the vectors', () => {
  it('opens the real sum.golang.org checkpoint, whose origin differs from its key name', () => {
    const v = validVector('sum.golang.org-real-checkpoint');
    const vkey = parseVkey(v.vkey!);
    const opened = openNote(v.note!, [createNoteVerifier(vkey)]);
    const cp = parseCheckpoint(opened.text);
    expect(cp.origin).toBe('go.sum database tree');
    expect(cp.size).toBe(30055305);
    expect(toBase64(cp.rootHash)).toBe('mXfgRcJ0bG0j3CPdKwgGWtUzBUbX67saZGRmFuJGGsM=');
    expect(cp.extensions).toEqual([]);
    // By default the origin must be the key's name; the caller can name the expected origin.
    const e = errorOf(() => openCheckpoint(v.note!, vkey));
    expect(e.code).toBe('checkpoint_malformed');
    expect(e.details).toMatchObject({ reason: 'origin_mismatch', origin: 'go.sum database tree', expected: 'sum.golang.org' });
    expect(openCheckpoint(v.note!, vkey, { origin: 'go.sum database tree' }).checkpoint).toEqual(cp);
  });

  it('opens and reproduces the sigsum checkpoint byte for byte', () => {
    const v = validVector('sigsum-checkpoint-log-signature');
    const vkey = parseVkey(v.vkey!);
    const { checkpoint } = openCheckpoint(v.note!, vkey);
    expect(checkpoint.origin).toBe(vkey.name);
    expect(checkpoint.size).toBe(10);
    const key = keyFromSeedHex(v.ed25519SeedHex!);
    expect(signCheckpoint(key, checkpoint.origin, checkpoint.size, checkpoint.rootHash)).toBe(v.note);
  });

  it.each([
    ['size 4', e2e.checkpointSize4, 4],
    ['size 7', e2e.checkpointSize7, 7],
  ])('reproduces and opens the e2e checkpoint of %s', (_what, note, size) => {
    expect(signCheckpoint(logKey, e2e.logKey.name, size, root(note))).toBe(note);
    const { checkpoint, note: opened } = openCheckpoint(note, logVkey);
    expect(checkpoint).toEqual({ origin: e2e.logKey.name, size, rootHash: root(note), extensions: [] });
    expect(opened.verified.map((s) => s.name)).toEqual([e2e.logKey.name]);
    expect(openCheckpoint(utf8(note), logVkey).checkpoint).toEqual(checkpoint);
  });

  it('carries witness cosignatures unverified', () => {
    const withWitness = `${e2e.checkpointSize7}${e2e.witnessCosignatureOnSize7.line}`;
    const { note } = openCheckpoint(withWitness, logVkey);
    expect(note.unverified.map((s) => s.name)).toEqual([e2e.witnessKey.name]);
  });

  it('refuses a checkpoint signed by another key, or only by a witness', () => {
    const other = deriveVkey(keyFromSeedHex('11'.padEnd(64, '0')), e2e.logKey.name);
    expect(codeOf(() => openCheckpoint(e2e.checkpointSize7, other))).toBe('note_unverified');
    const witnessOnly = `${noteText(e2e.checkpointSize7)}\n${e2e.witnessCosignatureOnSize7.line}`;
    expect(codeOf(() => openCheckpoint(witnessOnly, logVkey))).toBe('note_unverified');
    const asWitness = deriveVkey(logKey, e2e.logKey.name, SIGNATURE_TYPE_COSIGNATURE_V1);
    expect(codeOf(() => openCheckpoint(e2e.checkpointSize7, asWitness))).toBe('key_invalid');
  });

  it('verifies before it parses: tampering is signature_invalid, a signed bad body checkpoint_malformed', () => {
    const tampered = e2e.checkpointSize4.replace('\n4\n', '\n04\n');
    expect(codeOf(() => openCheckpoint(tampered, logVkey))).toBe('signature_invalid');
    const signer = createNoteSigner(logKey, e2e.logKey.name);
    const signedBad = signNote(`${e2e.logKey.name}\n04\n${toBase64(root(e2e.checkpointSize4))}\n`, [signer]);
    expect(codeOf(() => openCheckpoint(signedBad, logVkey))).toBe('checkpoint_malformed');
    const unsigned = `${e2e.logKey.name}\n04\nxx\n\n${e2e.checkpointSize4.split('\n').at(-2)!.replace(/^— \S+/, '— someone.else')}\n`;
    expect(codeOf(() => openCheckpoint(unsigned, logVkey))).toBe('note_unverified');
  });
});

describe('checkpoints: the grammar', () => {
  const body = noteText(e2e.checkpointSize7);
  const [origin, , rootLine] = body.split('\n') as [string, string, string];

  it('parses extension lines and formats them back', () => {
    const text = `${body}ext one\n\u00e9xt two\n`;
    const cp = parseCheckpoint(text);
    expect(cp.extensions).toEqual(['ext one', '\u00e9xt two']);
    expect(formatCheckpoint(cp)).toBe(text);
  });

  it('accepts the extreme sizes', () => {
    expect(parseCheckpoint(`o\n0\n${rootLine}\n`).size).toBe(0);
    expect(parseCheckpoint(`o\n9007199254740991\n${rootLine}\n`).size).toBe(Number.MAX_SAFE_INTEGER);
  });

  it.each([
    ['leading zero', '04'],
    ['double zero', '00'],
    ['sign', '+4'],
    ['negative', '-1'],
    ['leading space', ' 4'],
    ['trailing space', '4 '],
    ['exponent', '1e3'],
    ['hex', '0x10'],
    ['decimal point', '4.0'],
    ['underscore', '1_000'],
    ['Arabic-Indic digit', '\u0664'],
    ['full-width digit', '\uff14'],
    ['2^53', '9007199254740992'],
    ['huge', '9'.repeat(400)],
    ['empty', ''],
  ])('rejects a tree size with %s', (_what, size) => {
    expect(codeOf(() => parseCheckpoint(`${origin}\n${size}\n${rootLine}\n`))).toBe('checkpoint_malformed');
    expect(parseDecimal(size)).toBeUndefined();
  });

  it.each([
    ['31 bytes', toBase64(new Uint8Array(31))],
    ['33 bytes', toBase64(new Uint8Array(33))],
    ['no padding', rootLine.slice(0, -1)],
    ['non-canonical trailing bits', `${rootLine.slice(0, 42)}d=`],
    ['URL-safe alphabet', toBase64(new Uint8Array(32).fill(0xfb)).replaceAll('+', '-')],
    ['whitespace', ` ${rootLine.slice(1)}`],
    ['hex', '00'.repeat(32)],
    ['empty', ''],
  ])('rejects a root hash of %s', (_what, hash) => {
    expect(codeOf(() => parseCheckpoint(`${origin}\n7\n${hash}\n`))).toBe('checkpoint_malformed');
    expect(parseHashLine(hash)).toBeUndefined();
  });

  it.each([
    ['no final newline', body.slice(0, -1)],
    ['two lines', `${origin}\n7\n`],
    ['empty origin', `\n7\n${rootLine}\n`],
    ['empty extension line', `${body}\n`],
    ['empty extension between others', `${body}a\n\nb\n`],
    ['control character', `${origin}\u0001\n7\n${rootLine}\n`],
    ['carriage return', `${origin}\n7\r\n${rootLine}\n`],
    ['lone surrogate', `\udc00\n7\n${rootLine}\n`],
    ['empty text', ''],
  ])('rejects a checkpoint with %s', (_what, text) => {
    expect(codeOf(() => parseCheckpoint(text))).toBe('checkpoint_malformed');
  });

  it('reports every bad line at once', () => {
    const e = errorOf(() => parseCheckpoint('\n07\nAAAA\n\n'));
    expect(e.code).toBe('checkpoint_malformed');
    expect((e.details as { problems: string[] }).problems).toHaveLength(4);
  });

  it('refuses to format or sign a checkpoint it would not parse (argument_invalid: the fault is the caller’s)', () => {
    const good: Checkpoint = { origin: 'o', size: 1, rootHash: new Uint8Array(32), extensions: [] };
    for (const bad of [
      { ...good, origin: '' },
      { ...good, origin: 'a\nb' },
      { ...good, origin: 'a\u0000' },
      { ...good, size: -1 },
      { ...good, size: 1.5 },
      { ...good, size: 2 ** 53 },
      { ...good, rootHash: new Uint8Array(31) },
      { ...good, extensions: [''] },
      { ...good, extensions: ['a\nb'] },
      { ...good, extensions: ['\udc00'] },
    ]) {
      expect(codeOf(() => formatCheckpoint(bad))).toBe('argument_invalid');
    }
    expect(codeOf(() => signCheckpoint(logKey, 'o', 1, new Uint8Array(31)))).toBe('argument_invalid');
    expect(codeOf(() => signCheckpoint(logKey, 'o', -1, new Uint8Array(32), ['']))).toBe('argument_invalid');
    // Signing makes the origin the key name, so it must be a valid one.
    expect(codeOf(() => signCheckpoint(logKey, 'go.sum database tree', 1, new Uint8Array(32)))).toBe('key_invalid');
  });

  it('rejects inputs of the wrong type with a typed error', () => {
    for (const x of [undefined, null, 1, {}, utf8(body)]) {
      expect(codeOf(() => parseCheckpoint(asText(x)))).toBe('checkpoint_malformed');
    }
  });
});

describe('checkpoints: properties', () => {
  const line = fc
    .string({ unit: 'grapheme', minLength: 1, maxLength: 30 })
    .map((s) => s.replace(CONTROLS, ''))
    .filter((s) => s.length > 0);
  const checkpointArb = fc.record({
    origin: line,
    size: fc.maxSafeNat(),
    rootHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    extensions: fc.array(line, { maxLength: 3 }),
  });

  it('round-trips format/parse', () => {
    fc.assert(
      fc.property(checkpointArb, (cp) => {
        const text = formatCheckpoint(cp);
        expect(parseCheckpoint(text)).toEqual(cp);
        expect(formatCheckpoint(parseCheckpoint(text))).toBe(text);
      }),
    );
  });

  it('rejects every single changed byte of a signed checkpoint with a typed error', () => {
    const note = utf8(e2e.checkpointSize7);
    // Every position, with a random replacement byte for each.
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 255 }), { minLength: note.length, maxLength: note.length }), (deltas) => {
        for (let i = 0; i < note.length; i++) {
          const changed = Uint8Array.from(note);
          changed[i] = (changed[i]! + deltas[i]!) & 0xff;
          const code = codeOf(() => openCheckpoint(changed, logVkey));
          expect(code).toBeDefined();
          expect(code).not.toBe('untyped');
        }
      }),
      { numRuns: 20 },
    );
  });

  it('never throws an untyped error on random text', () => {
    const known = fc.constantFrom('0', '7', e2e.logKey.name, toBase64(root(e2e.checkpointSize7)));
    const lines = fc.array(fc.oneof(fc.string({ unit: 'binary', maxLength: 50 }), known), { maxLength: 6 });
    fc.assert(
      fc.property(lines, (ls) => {
        const text = ls.join('\n');
        expect(codeOf(() => parseCheckpoint(text))).not.toBe('untyped');
        expect(codeOf(() => parseCheckpoint(`${text}\n`))).not.toBe('untyped');
        expect(codeOf(() => openCheckpoint(`${text}\n\n— ${e2e.logKey.name} AAAAAAA=\n`, logVkey))).not.toBe('untyped');
      }),
    );
  });
});
