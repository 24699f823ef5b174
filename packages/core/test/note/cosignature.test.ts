import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fromBase64, toBase64, utf8 } from '../../src/bytes.js';
import { openCheckpoint } from '../../src/note/checkpoint.js';
import {
  COSIGNATURE_V1_LENGTH,
  cosignCheckpoint,
  createCosignatureVerifier,
  decodeCosignature,
  encodeCosignature,
  encodeCosignedMessage,
  verifyCosignature,
  verifyCosignatures,
} from '../../src/note/cosignature.js';
import { createNoteSigner, formatSignatureLine, openNote, parseSignatureLines, signNote } from '../../src/note/signed-note.js';
import { SIGNATURE_TYPE_COSIGNATURE_V1, deriveVkey, parseVkey } from '../../src/note/vkey.js';
import { codeOf, e2e, errorOf, keyFromSeedHex, noteText, noteVectors, validVector } from './vectors.js';

const sigsum = validVector('sigsum-cosignature-v1');
const sigsumWitness = parseVkey(sigsum.vkey!);
const witnessKey = keyFromSeedHex(e2e.witnessKey.ed25519SeedHex);
const witness = parseVkey(e2e.witnessKey.vkey);
const logVkey = parseVkey(e2e.logKey.vkey);
const body7 = noteText(e2e.checkpointSize7);
const cosig7 = e2e.witnessCosignatureOnSize7;

describe('cosignatures: the vectors', () => {
  it('sigsum-cosignature-v1: builds the signed message, verifies, and reproduces the line byte for byte', () => {
    expect(new TextDecoder().decode(encodeCosignedMessage(sigsum.checkpointBody!, 1234))).toBe(sigsum.signedMessage);
    const c = verifyCosignature(sigsumWitness, sigsum.checkpointBody!, sigsum.cosignatureLine!);
    expect(c.timestamp).toBe(sigsum.expectTimestamp);
    expect(c.name).toBe('example.org/witness');
    const key = keyFromSeedHex(sigsum.ed25519SeedHex!);
    expect(cosignCheckpoint(key, 'example.org/witness', sigsum.checkpointBody!, 1234)).toBe(sigsum.cosignatureLine);
  });

  it('e2e: reproduces and verifies the witness cosignature on the size-7 checkpoint', () => {
    expect(new TextDecoder().decode(encodeCosignedMessage(body7, cosig7.timestamp))).toBe(cosig7.signedMessage);
    expect(cosignCheckpoint(witnessKey, e2e.witnessKey.name, body7, cosig7.timestamp)).toBe(cosig7.line);
    expect(verifyCosignature(witness, body7, cosig7.line).timestamp).toBe(cosig7.timestamp);
  });

  it('cosignature-timestamp-decode: splits the 76-byte blob', () => {
    const v = noteVectors.vkeyOnly.find((x) => x.id === 'cosignature-timestamp-decode')!;
    const blob = fromBase64(v.signatureBase64!);
    expect(blob.length).toBe(COSIGNATURE_V1_LENGTH);
    const d = decodeCosignature(blob);
    expect(d.keyId.toString(16).padStart(8, '0')).toBe(v.expectKeyIdHex);
    expect(d.timestamp).toBe(v.expectTimestamp);
    expect(encodeCosignature(d.keyId, d.timestamp, d.signature)).toEqual(blob);
    // A plain Ed25519 note signature (key ID + 64 bytes) is not a cosignature.
    expect(codeOf(() => decodeCosignature(blob.subarray(0, 68)))).toBe('cosignature_invalid');
  });

  it('the sigsum upstream negatives: wrong key ID and unknown name are ignored, an undecodable tail is malformed', () => {
    const good = parseSignatureLines(sigsum.cosignatureLine!)[0]!;
    const wrongId = formatSignatureLine({ ...good, keyId: (good.keyId ^ 0x00800000) >>> 0 });
    const otherName = formatSignatureLine({ ...good, name: 'example.org/witness-2' });
    const note = parseSignatureLines(`${wrongId}${otherName}`);
    expect(verifyCosignatures(sigsum.checkpointBody!, note, [sigsumWitness])).toEqual([]);
    const e = errorOf(() => verifyCosignature(sigsumWitness, sigsum.checkpointBody!, wrongId));
    expect(e).toMatchObject({ code: 'cosignature_invalid', details: { reason: 'key_mismatch' } });
    expect(codeOf(() => verifyCosignature(sigsumWitness, sigsum.checkpointBody!, '\u2014 example.org/witness CgXX\n'))).toBe(
      'cosignature_invalid',
    );
  });
});

describe('cosignatures: verification', () => {
  const withWitness = `${e2e.checkpointSize7}${cosig7.line}`;

  it('verifies the cosignatures carried by an opened checkpoint', () => {
    const { note } = openCheckpoint(withWitness, logVkey);
    const found = verifyCosignatures(note.text, note.signatures, [witness]);
    expect(found.map((c) => [c.name, c.timestamp])).toEqual([[e2e.witnessKey.name, cosig7.timestamp]]);
    // A witness that did not cosign simply is not in the result.
    const absent = deriveVkey(keyFromSeedHex('22'.padEnd(64, '0')), 'example.net/w', SIGNATURE_TYPE_COSIGNATURE_V1);
    expect(verifyCosignatures(note.text, note.signatures, [absent])).toEqual([]);
  });

  it('lets openNote check cosignatures with a witness verifier (tlog-witness: concatenate and open)', () => {
    const opened = openNote(withWitness, [createCosignatureVerifier(witness)]);
    expect(opened.verified.map((s) => s.name)).toEqual([e2e.witnessKey.name]);
    expect(opened.unverified.map((s) => s.name)).toEqual([e2e.logKey.name]);
  });

  it('rejects a cosignature over another checkpoint, time or key', () => {
    const body4 = noteText(e2e.checkpointSize4);
    expect(codeOf(() => verifyCosignature(witness, body4, cosig7.line))).toBe('cosignature_invalid');
    const raw = fromBase64(cosig7.line.trimEnd().split(' ')[2]!);
    raw[11]! ^= 1; // timestamp's last byte
    const otherTime = `\u2014 ${e2e.witnessKey.name} ${toBase64(raw)}\n`;
    expect(codeOf(() => verifyCosignature(witness, body7, otherTime))).toBe('cosignature_invalid');
    const { note } = openCheckpoint(`${e2e.checkpointSize7}${otherTime}`, logVkey);
    expect(codeOf(() => verifyCosignatures(body7, note.signatures, [witness]))).toBe('cosignature_invalid');
    expect(codeOf(() => openNote(`${e2e.checkpointSize7}${otherTime}`, [createCosignatureVerifier(witness)]))).toBe('signature_invalid');
  });

  it('does not take a plain Ed25519 note signature by the witness key for a cosignature', () => {
    // Same key and name, type 0x01: a different key ID, so the line is not the witness's cosignature.
    const plain = signNote(body7, [createNoteSigner(witnessKey, e2e.witnessKey.name)]);
    const plainLine = plain.slice(plain.lastIndexOf('\n\n') + 2);
    const sigs = parseSignatureLines(plainLine);
    expect(sigs[0]!.keyId).not.toBe(witness.keyId);
    expect(verifyCosignatures(body7, sigs, [witness])).toEqual([]);
    expect(codeOf(() => verifyCosignature(witness, body7, plainLine))).toBe('cosignature_invalid');
  });

  it('refuses timestamps beyond 2^53-1 and keys of the wrong type', () => {
    const raw = fromBase64(cosig7.line.trimEnd().split(' ')[2]!);
    raw.fill(0xff, 4, 12);
    expect(codeOf(() => decodeCosignature(raw))).toBe('cosignature_invalid');
    const huge = `\u2014 ${e2e.witnessKey.name} ${toBase64(raw)}\n`;
    expect(codeOf(() => verifyCosignature(witness, body7, huge))).toBe('cosignature_invalid');
    for (const t of [-1, 1.5, 2 ** 53, Number.NaN]) {
      expect(codeOf(() => encodeCosignedMessage(body7, t))).toBe('argument_invalid');
      expect(codeOf(() => cosignCheckpoint(witnessKey, e2e.witnessKey.name, body7, t))).toBe('argument_invalid');
      expect(codeOf(() => encodeCosignature(1, t, new Uint8Array(64)))).toBe('argument_invalid');
    }
    expect(codeOf(() => verifyCosignature(logVkey, body7, cosig7.line))).toBe('key_invalid');
    expect(codeOf(() => createCosignatureVerifier(logVkey))).toBe('key_invalid');
    expect(codeOf(() => verifyCosignatures(body7, [], [witness, witness]))).toBe('key_invalid');
  });

  it('cosigns only well-formed checkpoints', () => {
    expect(codeOf(() => encodeCosignature(1, 1, new Uint8Array(63)))).toBe('argument_invalid');
    expect(codeOf(() => encodeCosignature(-1, 1, new Uint8Array(64)))).toBe('argument_invalid');
    expect(codeOf(() => cosignCheckpoint(witnessKey, e2e.witnessKey.name, e2e.checkpointSize7, 1))).toBe('checkpoint_malformed');
    expect(codeOf(() => cosignCheckpoint(witnessKey, e2e.witnessKey.name, 'hello\n', 1))).toBe('checkpoint_malformed');
    expect(codeOf(() => cosignCheckpoint(witnessKey, 'bad name', body7, 1))).toBe('key_invalid');
  });

  it('reads the largest safe timestamp exactly', () => {
    const line = cosignCheckpoint(witnessKey, e2e.witnessKey.name, body7, Number.MAX_SAFE_INTEGER);
    expect(verifyCosignature(witness, body7, line).timestamp).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe('cosignatures: properties', () => {
  it('round-trips cosign/verify for any timestamp', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (t) => {
        const line = cosignCheckpoint(witnessKey, e2e.witnessKey.name, body7, t);
        const c = verifyCosignature(witness, body7, line);
        expect(c.timestamp).toBe(t);
        expect(decodeCosignature(encodeCosignature(c.keyId, c.timestamp, c.signature))).toEqual({
          keyId: c.keyId,
          timestamp: t,
          signature: c.signature,
        });
      }),
      { numRuns: 100 },
    );
  });

  it('rejects any single changed byte of a cosignature line with a typed error', () => {
    const line = utf8(cosig7.line);
    fc.assert(
      fc.property(fc.nat(line.length - 1), fc.integer({ min: 1, max: 255 }), (i, delta) => {
        const changed = Uint8Array.from(line);
        changed[i] = (changed[i]! + delta) & 0xff;
        let text: string;
        try {
          text = new TextDecoder('utf-8', { fatal: true }).decode(changed);
        } catch {
          return; // not text: cannot be handed to verifyCosignature as a line
        }
        const code = codeOf(() => verifyCosignature(witness, body7, text));
        expect(code).toBeDefined();
        expect(code).not.toBe('untyped');
      }),
      { numRuns: 500 },
    );
  });

  it('never throws an untyped error on random lines or blobs', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 120 }), fc.uint8Array({ maxLength: 100 }), (s, b) => {
        expect(codeOf(() => verifyCosignature(witness, body7, s))).not.toBe('untyped');
        expect(codeOf(() => verifyCosignature(witness, body7, `\u2014 ${e2e.witnessKey.name} ${s}\n`))).not.toBe('untyped');
        expect(codeOf(() => decodeCosignature(b))).not.toBe('untyped');
      }),
    );
  });
});
