import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { toBase64, utf8 } from '../../src/bytes.js';
import { openCheckpoint } from '../../src/note/checkpoint.js';
import {
  MAX_CONSISTENCY_PROOF_LINES,
  formatAddCheckpointRequest,
  parseAddCheckpointRequest,
  type AddCheckpointRequest,
} from '../../src/note/witness-request.js';
import { parseVkey } from '../../src/note/vkey.js';
import { verifyConsistency } from '../../src/merkle/verify.js';
import { asText, codeOf, e2e, errorOf } from './vectors.js';

const body = e2e.addCheckpointRequestBody_4_to_7;
const logVkey = parseVkey(e2e.logKey.vkey);

// The example request body of C2SP tlog-witness §add-checkpoint.
const specExample = `old 20852014
PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=
jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=
5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=
/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=

example.com/behind-the-sofa
20852163
CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=

— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=
— example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=
`;

describe('tlog-witness add-checkpoint request bodies', () => {
  it('parses the e2e body (old 4 → 7) and formats it back byte for byte', () => {
    const req = parseAddCheckpointRequest(body);
    expect(req.oldSize).toBe(4);
    expect(req.consistencyProof.map(toBase64)).toEqual(['g327FS6bB5AQcX6E6GXaTrwPoZioBtWdMb8VrM7yLQ4=']);
    expect(req.checkpoint).toBe(e2e.checkpointSize7);
    expect(formatAddCheckpointRequest(req)).toBe(body);
    expect(parseAddCheckpointRequest(utf8(body))).toEqual(req);
  });

  it('carries a checkpoint that opens with the log key and a proof that is consistent with size 4', () => {
    const req = parseAddCheckpointRequest(body);
    const next = openCheckpoint(req.checkpoint, logVkey).checkpoint;
    const prev = openCheckpoint(e2e.checkpointSize4, logVkey).checkpoint;
    expect(prev.size).toBe(req.oldSize);
    expect(() => {
      verifyConsistency(req.oldSize, next.size, req.consistencyProof, prev.rootHash, next.rootHash);
    }).not.toThrow();
  });

  it('parses the spec example, with two log signatures', () => {
    const req = parseAddCheckpointRequest(specExample);
    expect(req.oldSize).toBe(20852014);
    expect(req.consistencyProof).toHaveLength(4);
    expect(req.checkpoint.split('\n\u2014 ')).toHaveLength(3);
    expect(formatAddCheckpointRequest(req)).toBe(specExample);
  });

  it('accepts old 0 with an empty proof (the first request for a log)', () => {
    const req = parseAddCheckpointRequest(`old 0\n\n${e2e.checkpointSize4}`);
    expect(req).toEqual({ oldSize: 0, consistencyProof: [], checkpoint: e2e.checkpointSize4 });
  });

  const hash = body.split('\n')[1]!;
  it.each([
    ['a leading zero', body.replace('old 4', 'old 04')],
    ['a negative size', body.replace('old 4', 'old -4')],
    ['no size', body.replace('old 4', 'old')],
    ['another keyword', body.replace('old 4', 'size 4')],
    ['a tab', body.replace('old 4', 'old\t4')],
    ['a size past 2^53', body.replace('old 4', 'old 9007199254740992')],
    ['a proof after old 0', body.replace('old 4', 'old 0')],
    ['a bad hash', body.replace(hash, hash.slice(1))],
    ['a 33-byte hash', body.replace(hash, toBase64(new Uint8Array(33)))],
    ['64 proof lines', body.replace(`${hash}\n`, `${hash}\n`.repeat(MAX_CONSISTENCY_PROOF_LINES + 1))],
    ['no blank line', 'old 4\n'],
    ['no checkpoint', `old 4\n${hash}\n\n`],
    ['a lone surrogate', body.replace('old 4', 'old 4\udfff')],
    ['nothing', ''],
  ])('rejects a body with %s (request_invalid)', (_what, text) => {
    expect(codeOf(() => parseAddCheckpointRequest(text))).toBe('request_invalid');
  });

  it('accepts 63 proof lines, rejects invalid UTF-8 and wrong types', () => {
    expect(parseAddCheckpointRequest(body.replace(`${hash}\n`, `${hash}\n`.repeat(63))).consistencyProof).toHaveLength(63);
    expect(codeOf(() => parseAddCheckpointRequest(Uint8Array.of(0x6f, 0xc3, 0x0a, 0x0a)))).toBe('request_invalid');
    for (const x of [undefined, null, 7, {}]) expect(codeOf(() => parseAddCheckpointRequest(asText(x)))).toBe('request_invalid');
  });

  it('reports every bad line at once', () => {
    const e = errorOf(() => parseAddCheckpointRequest(`old x\nAA==\nBB==\n\n`));
    expect((e.details as { problems: string[] }).problems).toHaveLength(4);
  });

  it('refuses to format what it would not parse', () => {
    const good: AddCheckpointRequest = { oldSize: 4, consistencyProof: [new Uint8Array(32)], checkpoint: e2e.checkpointSize7 };
    for (const bad of [
      { ...good, oldSize: -1 },
      { ...good, oldSize: 0 },
      { ...good, oldSize: 2 ** 53 },
      { ...good, consistencyProof: [new Uint8Array(31)] },
      { ...good, consistencyProof: Array.from({ length: 64 }, () => new Uint8Array(32)) },
      { ...good, checkpoint: '' },
    ]) {
      expect(codeOf(() => formatAddCheckpointRequest(bad))).toBe('argument_invalid');
    }
  });

  it('round-trips format/parse', () => {
    const arb = fc
      .record({
        oldSize: fc.maxSafeNat(),
        consistencyProof: fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 8 }),
        checkpoint: fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => `${s}\n`),
      })
      .map((r) => (r.oldSize === 0 ? { ...r, consistencyProof: [] } : r));
    fc.assert(
      fc.property(arb, (req) => {
        const text = formatAddCheckpointRequest(req);
        expect(parseAddCheckpointRequest(text)).toEqual(req);
        expect(formatAddCheckpointRequest(parseAddCheckpointRequest(text))).toBe(text);
      }),
    );
  });

  it('never throws an untyped error on random text', () => {
    const piece = fc.oneof(fc.string({ unit: 'binary', maxLength: 50 }), fc.constantFrom('old 4', 'old 0', hash, ''));
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), fc.uint8Array({ maxLength: 60 }), (ps, b) => {
        expect(codeOf(() => parseAddCheckpointRequest(ps.join('\n')))).not.toBe('untyped');
        expect(codeOf(() => parseAddCheckpointRequest(b))).not.toBe('untyped');
      }),
    );
  });
});
