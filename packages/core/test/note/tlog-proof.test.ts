// Parsing and formatting first; the Merkle verification (which needs ../merkle) comes last.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fromBase64, fromHex, toBase64, toHex, utf8 } from '../../src/bytes.js';
import { BackchannelError } from '../../src/errors.js';
import { hashLeaf } from '../../src/merkle/hasher.js';
import { verifyCosignatures } from '../../src/note/cosignature.js';
import { MAX_PROOF_HASHES, formatTlogProof, parseTlogProof, verifyTlogProof, type TlogProof } from '../../src/note/tlog-proof.js';
import { parseVkey } from '../../src/note/vkey.js';
import { asText, codeOf, e2e, errorOf } from './vectors.js';

const vector = e2e.tlogProofIndex3;
const logVkey = parseVkey(e2e.logKey.vkey);
const witness = parseVkey(e2e.witnessKey.vkey);
const checkpointNote = `${e2e.checkpointSize7}${e2e.witnessCosignatureOnSize7.line}`;
const leaf = fromHex(vector.leafInputHex);

// The example of C2SP tlog-proof §Format (signatures elided there, so only parseable).
const specExample = `c2sp.org/tlog-proof@v1
extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ
index 73894
gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=
B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=
EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=
RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=
AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=

example.com/fancylog
109482
sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=

— example.com/fancylog hI2DJw[...]1roloI=
`;

describe('tlog-proof: parse and format', () => {
  it('parses the e2e proof for index 3 and formats it back byte for byte', () => {
    const p = parseTlogProof(vector.text);
    expect(p.index).toBe(3);
    expect(p.extra).toBeUndefined();
    expect(p.proof.map(toBase64)).toEqual([
      'ApjRIpBtz8EIkstTpzmS/FufST6kybrbJ7eRtBJ6f+c=',
      '+sVCA+fMaWzw38tCySodnbr3CtnmIfS9jZhmLwDjwSU=',
      'g327FS6bB5AQcX6E6GXaTrwPoZioBtWdMb8VrM7yLQ4=',
    ]);
    expect(p.checkpoint).toBe(checkpointNote);
    expect(formatTlogProof(p)).toBe(vector.text);
    expect(parseTlogProof(utf8(vector.text))).toEqual(p);
  });

  it('parses the spec example, extra data included', () => {
    const p = parseTlogProof(specExample);
    expect(p.index).toBe(73894);
    expect(p.proof).toHaveLength(5);
    expect(p.extra).toEqual(fromBase64('YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ'));
    expect(p.checkpoint.startsWith('example.com/fancylog\n109482\n')).toBe(true);
    expect(formatTlogProof(p)).toBe(specExample);
  });

  it('parses a proof with no hashes (a tree of one leaf)', () => {
    const p = parseTlogProof(`c2sp.org/tlog-proof@v1\nindex 0\n\n${e2e.checkpointSize4}`);
    expect(p.proof).toEqual([]);
    expect(p.checkpoint).toBe(e2e.checkpointSize4);
  });

  const lines = vector.text.split('\n');
  const hash = lines[2]!;
  it.each([
    ['another header', vector.text.replace('tlog-proof@v1', 'tlog-proof@v2')],
    ['no header', vector.text.slice(vector.text.indexOf('\n') + 1)],
    ['a leading zero in the index', vector.text.replace('index 3', 'index 03')],
    ['a negative index', vector.text.replace('index 3', 'index -3')],
    ['an index past 2^53', vector.text.replace('index 3', 'index 9007199254740992')],
    ['two spaces after "index"', vector.text.replace('index 3', 'index  3')],
    ['no index line', vector.text.replace('index 3\n', '')],
    ['extra after the index', vector.text.replace('index 3\n', 'index 3\nextra AQ==\n')],
    ['empty extra', vector.text.replace('index 3\n', 'extra \nindex 3\n')],
    ['extra that is not base64', vector.text.replace('index 3\n', 'extra !!!!\nindex 3\n')],
    ['a 31-byte hash', vector.text.replace(hash, toBase64(new Uint8Array(31)))],
    ['a hash without padding', vector.text.replace(hash, hash.slice(0, -1))],
    ['a hash with a trailing space', vector.text.replace(hash, `${hash} `)],
    ['a carriage return', vector.text.replace('index 3\n', 'index 3\r\n')],
    ['64 hashes', vector.text.replace(`${hash}\n`, `${hash}\n`.repeat(MAX_PROOF_HASHES + 1))],
    ['no blank line', 'c2sp.org/tlog-proof@v1\nindex 3\n'],
    ['no checkpoint', 'c2sp.org/tlog-proof@v1\nindex 3\n\n'],
    ['a lone surrogate', vector.text.replace('index 3', 'index 3\ud800')],
    ['nothing', ''],
  ])('rejects a proof with %s (proof_invalid)', (_what, text) => {
    expect(codeOf(() => parseTlogProof(text))).toBe('proof_invalid');
  });

  it('accepts exactly 63 hashes and rejects invalid UTF-8 bytes', () => {
    expect(parseTlogProof(vector.text.replace(`${hash}\n`, `${hash}\n`.repeat(61))).proof).toHaveLength(MAX_PROOF_HASHES);
    expect(codeOf(() => parseTlogProof(Uint8Array.of(0xff, 0x0a, 0x0a)))).toBe('proof_invalid');
    for (const x of [undefined, null, 1, {}]) expect(codeOf(() => parseTlogProof(asText(x)))).toBe('proof_invalid');
  });

  it('reports every bad line at once', () => {
    const e = errorOf(() => parseTlogProof(`c2sp.org/tlog-proof\nindex x\nAA==\nBB==\n\n${e2e.checkpointSize7}`));
    expect((e.details as { problems: string[] }).problems).toHaveLength(4);
  });

  it('refuses to format what it would not parse', () => {
    const good: TlogProof = { index: 0, proof: [], checkpoint: e2e.checkpointSize4 };
    for (const bad of [
      { ...good, index: -1 },
      { ...good, index: 0.5 },
      { ...good, extra: new Uint8Array(0) },
      { ...good, proof: [new Uint8Array(33)] },
      { ...good, proof: Array.from({ length: 64 }, () => new Uint8Array(32)) },
      { ...good, checkpoint: 'no newline' },
    ]) {
      expect(codeOf(() => formatTlogProof(bad))).toBe('argument_invalid');
    }
  });

  it('round-trips format/parse', () => {
    const arb = fc.record({
      extra: fc.option(fc.uint8Array({ minLength: 1, maxLength: 40 }), { nil: undefined }),
      index: fc.maxSafeNat(),
      proof: fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 8 }),
      checkpoint: fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => `${s}\n`),
    });
    fc.assert(
      fc.property(arb, (p) => {
        const text = formatTlogProof(p);
        expect(parseTlogProof(text)).toEqual(p);
        expect(formatTlogProof(parseTlogProof(text))).toBe(text);
      }),
    );
  });

  it('never throws an untyped error on random text', () => {
    const known = fc.constantFrom('c2sp.org/tlog-proof@v1', 'index 3', 'extra ', hash, '');
    const piece = fc.oneof(fc.string({ unit: 'binary', maxLength: 50 }), known);
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), (ps) => {
        expect(codeOf(() => parseTlogProof(ps.join('\n')))).not.toBe('untyped');
        expect(codeOf(() => verifyTlogProof(ps.join('\n'), logVkey, leaf))).not.toBe('untyped');
      }),
    );
  });
});

describe('tlog-proof: verification (needs the Merkle verifier)', () => {
  it('verifies the e2e proof of index 3 against the log key and the leaf', () => {
    expect(toHex(hashLeaf(leaf))).toBe(vector.leafHashHex);
    const v = verifyTlogProof(vector.text, logVkey, leaf);
    expect(v.index).toBe(3);
    expect(v.checkpoint.size).toBe(7);
    expect(v.checkpoint.origin).toBe(e2e.logKey.name);
    expect(v.note.unverified.map((s) => s.name)).toEqual([e2e.witnessKey.name]);
    expect(verifyCosignatures(v.note.text, v.note.signatures, [witness]).map((c) => c.timestamp)).toEqual([
      e2e.witnessCosignatureOnSize7.timestamp,
    ]);
    expect(verifyTlogProof(parseTlogProof(vector.text), logVkey, leaf).index).toBe(3);
    expect(verifyTlogProof(utf8(vector.text), logVkey, leaf).index).toBe(3);
  });

  it('rejects another leaf, index, path or key with typed errors', () => {
    expect(codeOf(() => verifyTlogProof(vector.text, logVkey, fromHex('2020')))).toBe('root_mismatch_proof');
    expect(codeOf(() => verifyTlogProof(vector.text, logVkey, hashLeaf(leaf)))).toBe('root_mismatch_proof');
    expect(codeOf(() => verifyTlogProof(vector.text.replace('index 3', 'index 2'), logVkey, leaf))).toBe('root_mismatch_proof');
    expect(codeOf(() => verifyTlogProof(vector.text.replace('index 3', 'index 7'), logVkey, leaf))).toBe('index_out_of_range');
    const p = parseTlogProof(vector.text);
    expect(codeOf(() => verifyTlogProof({ ...p, proof: p.proof.slice(1) }, logVkey, leaf))).toBe('proof_invalid');
    expect(codeOf(() => verifyTlogProof({ ...p, proof: [...p.proof].reverse() }, logVkey, leaf))).toBe('root_mismatch_proof');
    expect(codeOf(() => verifyTlogProof(vector.text, witness, leaf))).toBe('key_invalid');
    const otherLog = parseVkey('PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW');
    expect(codeOf(() => verifyTlogProof(vector.text, otherLog, leaf))).toBe('note_unverified');
  });

  it('rejects a proof whose checkpoint was tampered with', () => {
    const tampered = vector.text.replace('\n7\n', '\n8\n');
    expect(codeOf(() => verifyTlogProof(tampered, logVkey, leaf))).toBe('signature_invalid');
  });

  it('rejects any single changed byte of the proof, witness policy included, with a typed error', () => {
    // The witness's line is not covered by the log's signature: a change there is caught by the
    // caller's witness policy (here: this witness must have cosigned).
    const verifyWithWitness = (b: Uint8Array): number => {
      const v = verifyTlogProof(b, logVkey, leaf);
      const cosignatures = verifyCosignatures(v.note.text, v.note.signatures, [witness]);
      if (cosignatures.length === 0) throw new BackchannelError('cosignature_invalid', 'the witness did not cosign');
      return cosignatures.length;
    };
    const bytes = utf8(vector.text);
    expect(codeOf(() => verifyWithWitness(bytes))).toBeUndefined();
    fc.assert(
      fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 }), (i, delta) => {
        const changed = Uint8Array.from(bytes);
        changed[i] = (changed[i]! + delta) & 0xff;
        const code = codeOf(() => verifyWithWitness(changed));
        expect(code).toBeDefined();
        expect(code).not.toBe('untyped');
      }),
      { numRuns: 1000 },
    );
  });
});
