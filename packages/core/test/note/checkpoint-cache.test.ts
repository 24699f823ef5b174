/**
 * Checkpoints opened once per exact (note, key, origin) (note/checkpoint-cache.ts): the same
 * answer as opening them afresh, a verification skipped only for byte-identical input under the
 * identical key, and a note that fails refused every time and never kept.
 */
import { describe, expect, it, vi } from 'vitest';
import { utf8 } from '../../src/bytes.js';
import { Ed25519Key } from '../../src/ed25519.js';
import type * as Ed25519Module from '../../src/ed25519.js';
import { hashLeaf } from '../../src/merkle/hasher.js';
import { openCheckpoint, signCheckpoint } from '../../src/note/checkpoint.js';
import { checkpointCacheSize, openCheckpointCached } from '../../src/note/checkpoint-cache.js';
import { deriveVkey, SIGNATURE_TYPE_ED25519, type Vkey } from '../../src/note/vkey.js';
import { verifyTlogProof } from '../../src/note/tlog-proof.js';
import { codeOf } from './vectors.js';

// Counts the Ed25519 verifications the note verifier makes, to tell a hit from a fresh open.
const calls = vi.hoisted(() => ({ verifyRaw: 0 }));
vi.mock('../../src/ed25519.js', async (importOriginal) => {
  const m = await importOriginal<typeof Ed25519Module>();
  return {
    ...m,
    verifyRaw: (...a: Parameters<typeof m.verifyRaw>) => {
      calls.verifyRaw++;
      return m.verifyRaw(...a);
    },
  };
});

const ORIGIN = 'example.org/log';
const key = Ed25519Key.generate();
const vkey = deriveVkey(key, ORIGIN, SIGNATURE_TYPE_ED25519);
const root = (n: number): Uint8Array => new Uint8Array(32).fill(n);
const counted = <T>(f: () => T): { value: T; verifications: number } => {
  const before = calls.verifyRaw;
  const value = f();
  return { value, verifications: calls.verifyRaw - before };
};

describe('openCheckpointCached', () => {
  it('answers as openCheckpoint does, verifying a given note under a given key once', () => {
    const note = signCheckpoint(key, ORIGIN, 7, root(1));
    const first = counted(() => openCheckpointCached(note, vkey));
    expect(first.verifications).toBe(1);
    const again = counted(() => openCheckpointCached(note, vkey));
    expect(again.verifications).toBe(0);
    expect(again.value).toEqual(openCheckpoint(note, vkey));
    expect(first.value).toEqual(again.value);
    // Given as bytes, the same note is verified once more (a key of its own), then held too.
    expect(counted(() => openCheckpointCached(utf8(note), vkey)).verifications).toBe(1);
    expect(counted(() => openCheckpointCached(utf8(note), vkey)).verifications).toBe(0);
  });

  it('hands out copies: writing into an answer does not change the next one', () => {
    const note = signCheckpoint(key, ORIGIN, 8, root(2));
    const a = openCheckpointCached(note, vkey);
    a.checkpoint.rootHash.fill(0);
    a.note.textBytes.fill(0);
    a.note.verified[0]!.signature.fill(0);
    const b = openCheckpointCached(note, vkey);
    expect(b.checkpoint.rootHash).toEqual(root(2));
    expect(b).toEqual(openCheckpoint(note, vkey));
  });

  it('verifies any other text, even one differing in a single signature byte, and never keeps a failure', () => {
    const note = signCheckpoint(key, ORIGIN, 9, root(3));
    openCheckpointCached(note, vkey);
    const held = checkpointCacheSize();
    // The same text with another signature of the right length: a failed signature.
    const [text, sigLine] = note.split('\n\n') as [string, string];
    const raw = Buffer.from(sigLine.slice(sigLine.lastIndexOf(' ') + 1), 'base64');
    raw[10]! ^= 1;
    const forged = `${text}\n\n${sigLine.slice(0, sigLine.lastIndexOf(' ') + 1)}${raw.toString('base64')}\n`;
    for (let i = 0; i < 2; i++) {
      const r = counted(() => codeOf(() => openCheckpointCached(forged, vkey)));
      expect(r.value).toBe('signature_invalid');
      expect(r.verifications).toBe(1);
    }
    // Another body under a valid signature of the first body's: the text is what is keyed.
    const swapped = note.replace('\n9\n', '\n10\n');
    expect(codeOf(() => openCheckpointCached(swapped, vkey))).toBe('signature_invalid');
    expect(checkpointCacheSize()).toBe(held);
  });

  it('verifies again under any other key, even one with the same name and key ID', () => {
    const note = signCheckpoint(key, ORIGIN, 11, root(4));
    openCheckpointCached(note, vkey);
    const impostor: Vkey = { ...vkey, publicKey: deriveVkey(Ed25519Key.generate(), ORIGIN, SIGNATURE_TYPE_ED25519).publicKey };
    const r = counted(() => codeOf(() => openCheckpointCached(note, impostor)));
    expect(r).toEqual({ value: 'signature_invalid', verifications: 1 });
    // A key object changed in place after a hit is read afresh, not by identity.
    const mutable = { ...vkey, publicKey: vkey.publicKey.slice() };
    openCheckpointCached(note, mutable);
    mutable.publicKey.fill(1);
    expect(codeOf(() => openCheckpointCached(note, mutable))).toBe('signature_invalid');
    // A key of another name finds no signature of its own.
    const other = deriveVkey(key, 'example.org/other', SIGNATURE_TYPE_ED25519);
    expect(codeOf(() => openCheckpointCached(note, other))).toBe('note_unverified');
  });

  it('checks the expected origin on every call', () => {
    const note = signCheckpoint(key, ORIGIN, 12, root(5));
    openCheckpointCached(note, vkey);
    expect(codeOf(() => openCheckpointCached(note, vkey, { origin: 'another origin' }))).toBe('checkpoint_malformed');
    expect(openCheckpointCached(note, vkey, { origin: ORIGIN }).checkpoint.size).toBe(12);
  });

  it('is bounded: a stream of distinct notes keeps at most its limit', () => {
    for (let i = 0; i < 200; i++) openCheckpointCached(signCheckpoint(key, ORIGIN, 1000 + i, root(6)), vkey);
    expect(checkpointCacheSize()).toBeLessThanOrEqual(64);
    // The most recent ones are the ones held.
    expect(counted(() => openCheckpointCached(signCheckpoint(key, ORIGIN, 1199, root(6)), vkey)).verifications).toBe(0);
    expect(counted(() => openCheckpointCached(signCheckpoint(key, ORIGIN, 1000, root(6)), vkey)).verifications).toBe(1);
  });

  it('is what verifyTlogProof uses: a second proof under one checkpoint verifies its path, not the signature', () => {
    const note = signCheckpoint(key, ORIGIN, 1, new Uint8Array(32));
    // A one-leaf tree: the root is the leaf hash, the path empty.
    const leaf = utf8('leaf');
    const cp = signCheckpoint(key, ORIGIN, 1, hashLeaf(leaf));
    expect(counted(() => verifyTlogProof({ index: 0, proof: [], checkpoint: cp }, vkey, leaf)).verifications).toBe(1);
    expect(counted(() => verifyTlogProof({ index: 0, proof: [], checkpoint: cp }, vkey, leaf)).verifications).toBe(0);
    // The cached signature does not excuse the Merkle path: another leaf fails.
    const wrongLeaf = codeOf(() => verifyTlogProof({ index: 0, proof: [], checkpoint: cp }, vkey, utf8('other')));
    expect(wrongLeaf).not.toBeUndefined();
    expect(wrongLeaf).not.toBe('untyped');
    openCheckpointCached(note, vkey);
    expect(codeOf(() => verifyTlogProof({ index: 0, proof: [], checkpoint: note }, vkey, leaf))).toBe(wrongLeaf);
  });
});
