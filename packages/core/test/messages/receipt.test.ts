import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Ed25519Key } from '../../src/ed25519.js';
import { isBackchannelError } from '../../src/errors.js';
import { deterministicRandomForTests } from '../../src/random.js';
import { deriveVkey } from '../../src/note/vkey.js';
import { commitLeaf, type LeafOpening } from '../../src/messages/commitment.js';
import { formatReceipt, isPromiseBroken, openIntegrationPromise, signIntegrationPromise, verifyReceipt } from '../../src/messages/receipt.js';
import { utf8 } from '../../src/bytes.js';
import { MemoryLog } from '../../testing/memory-log.js';

const rnd = deterministicRandomForTests('receipt');
const logKey = Ed25519Key.generate(rnd);
const origin = 'relay.example/ch/5e1f00aa';
const vkey = deriveVkey(logKey, origin);
const T = Date.UTC(2026, 0, 7);

function opening(i: number): LeafOpening {
  return { salt: rnd(32), type: 'submit', from: 'us', to: 'ir', prec: i % 4, time: T + i, digest: rnd(32), ref: rnd(32) };
}

describe('relay receipts (tlog-proof with the leaf opening)', () => {
  const log = new MemoryLog(origin, logKey);
  const openings = Array.from({ length: 37 }, (_, i) => opening(i));
  log.append(...openings.map(commitLeaf));
  const cp = log.checkpoint();
  const receipts = openings.map((o, i) => formatReceipt({ opening: o, index: i, proof: log.inclusionProof(i), checkpoint: cp }));

  it('verify offline with the relay key alone', () => {
    for (const [i, r] of receipts.entries()) {
      const v = verifyReceipt(r, vkey, { type: 'submit', digest: openings[i]!.digest, ref: openings[i]!.ref });
      expect(v.index).toBe(i);
      expect(v.checkpoint.size).toBe(37);
    }
  });

  it('fail for another envelope, another log, or another key', () => {
    const r = receipts[5]!;
    expect(() => verifyReceipt(r, vkey, { type: 'submit', digest: rnd(32) })).toThrow(expect.objectContaining({ code: 'commitment_mismatch' }));
    expect(() => verifyReceipt(r, deriveVkey(Ed25519Key.generate(rnd), origin), { type: 'submit', digest: openings[5]!.digest })).toThrow();
    // A receipt whose opening belongs to another leaf does not verify at this index.
    const swapped = formatReceipt({ opening: openings[6]!, index: 5, proof: log.inclusionProof(5), checkpoint: cp });
    expect(() => verifyReceipt(swapped, vkey, { type: 'submit', digest: openings[6]!.digest })).toThrow(expect.objectContaining({ code: 'root_mismatch_proof' }));
  });

  it('reject any single changed byte with a typed error', () => {
    const bytes = utf8(receipts[11]!);
    fc.assert(
      fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 }), (i, x) => {
        const m = Uint8Array.from(bytes);
        m[i] = m[i]! ^ x;
        try {
          verifyReceipt(m, vkey, { type: 'submit', digest: openings[11]!.digest });
          expect.unreachable('changed receipt accepted');
        } catch (e) {
          expect(isBackchannelError(e)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('integration promises (deferred-merge relays)', () => {
  it('are signed by the log key and expire', () => {
    const leaf = rnd(32);
    const p = openIntegrationPromise(signIntegrationPromise(logKey, { origin, leaf, time: T, mmd: 60_000 }), vkey);
    expect(p.leaf).toEqual(leaf);
    expect(isPromiseBroken(p, T + 60_000)).toBe(false);
    expect(isPromiseBroken(p, T + 60_001)).toBe(true);
    expect(() => openIntegrationPromise(signIntegrationPromise(logKey, { origin: 'other/log', leaf, time: T, mmd: 1 }), vkey)).toThrow(expect.objectContaining({ code: 'receipt_invalid' }));
  });
});
