/**
 * All 196 transparency-dev/merkle proof vectors (testdata/inclusion, testdata/consistency):
 * each must fail exactly when wantErr says so, and fail with one of our typed codes.
 */
import { describe, expect, it } from 'vitest';
import { fromBase64 } from '../../src/bytes.js';
import { isBackchannelError, type ErrorCode } from '../../src/errors.js';
import { verifyConsistency, verifyInclusion } from '../../src/merkle/verify.js';
import { listJson, readJson } from './vectors.js';

interface InclusionProbe {
  leafIdx: number;
  treeSize: number;
  root: string;
  leafHash: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

interface ConsistencyProbe {
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

const PROOF_CODES: readonly ErrorCode[] = ['index_out_of_range', 'proof_invalid', 'root_mismatch_proof'];

/** The error code thrown, 'untyped' for a foreign exception, undefined for success. */
function outcome(f: () => void): string | undefined {
  try {
    f();
  } catch (e) {
    return isBackchannelError(e) ? e.code : 'untyped';
  }
  return undefined;
}

function proofOf(p: string[] | null): Uint8Array[] {
  return (p ?? []).map(fromBase64);
}

const inclusionFiles = listJson('transparency-dev-merkle/inclusion');
const consistencyFiles = listJson('transparency-dev-merkle/consistency');

describe('transparency-dev/merkle vectors', () => {
  it('are all there', () => {
    expect(inclusionFiles.length + consistencyFiles.length).toBe(196);
  });

  describe('inclusion', () => {
    it.each(inclusionFiles)('%s', (file) => {
      const v = readJson(file) as InclusionProbe;
      const code = outcome(() => {
        verifyInclusion(fromBase64(v.leafHash), v.leafIdx, v.treeSize, proofOf(v.proof), fromBase64(v.root));
      });
      if (v.wantErr) expect(PROOF_CODES).toContain(code);
      else expect(code).toBeUndefined();
    });
  });

  describe('consistency', () => {
    it.each(consistencyFiles)('%s', (file) => {
      const v = readJson(file) as ConsistencyProbe;
      const code = outcome(() => {
        verifyConsistency(v.size1, v.size2, proofOf(v.proof), fromBase64(v.root1), fromBase64(v.root2));
      });
      if (v.wantErr) expect(PROOF_CODES).toContain(code);
      else expect(code).toBeUndefined();
    });
  });

  // The vectors only say "error"; these named mutations pin the code. (Upstream's "wrong"
  // leaves and roots are short ASCII strings, hence 'proof_invalid' for them.)
  describe('error codes of named mutations', () => {
    const expectations: [string, ErrorCode][] = [
      ['inclusion/1/wrong-leaf.json', 'proof_invalid'],
      ['inclusion/1/leafIdx-plus-@1.json', 'root_mismatch_proof'],
      ['inclusion/1/treeSize-mul-@2.json', 'proof_invalid'],
      ['inclusion/1/trailing-garbage.json', 'proof_invalid'],
      ['inclusion/1/random-root.json', 'root_mismatch_proof'],
      ['inclusion/1/modified-proof[0]-bit-@3.json', 'root_mismatch_proof'],
      ['inclusion/1/removed-component.json', 'proof_invalid'],
      ['inclusion/1/inserted-component.json', 'proof_invalid'],
      ['inclusion/single-entry/empty-leaf.json', 'proof_invalid'],
      ['inclusion/single-entry/empty-root.json', 'proof_invalid'],
      ['inclusion/additional/0/random-leaf.json', 'index_out_of_range'],
      ['consistency/1/swapped-roots.json', 'root_mismatch_proof'],
      ['consistency/1/wrong-root2.json', 'proof_invalid'],
      ['consistency/1/truncated-proof.json', 'proof_invalid'],
      ['consistency/1/empty-proof.json', 'proof_invalid'],
      ['consistency/1/modified-proof@1-bit-@4.json', 'root_mismatch_proof'],
      ['consistency/additional/size1-is-greater-than-size2.json', 'index_out_of_range'],
      ['consistency/additional/consistency-check-on-empty-tree-size1-is-zero-is-useless.json', 'index_out_of_range'],
      ['consistency/additional/sizes-are-equal-one-but-roots-are-not.json', 'root_mismatch_proof'],
      ['consistency/additional/sizes-match-but-proof-is-not-empty-and-sizes-are-one.json', 'proof_invalid'],
    ];
    it.each(expectations)('%s → %s', (file, want) => {
      const full = `transparency-dev-merkle/${file}`;
      const code = file.startsWith('inclusion/')
        ? outcome(() => {
            const v = readJson(full) as InclusionProbe;
            verifyInclusion(fromBase64(v.leafHash), v.leafIdx, v.treeSize, proofOf(v.proof), fromBase64(v.root));
          })
        : outcome(() => {
            const v = readJson(full) as ConsistencyProbe;
            verifyConsistency(v.size1, v.size2, proofOf(v.proof), fromBase64(v.root1), fromBase64(v.root2));
          });
      expect(code).toBe(want);
    });
  });

  it('puts both roots in a mismatch error, as hex', () => {
    const v = readJson('transparency-dev-merkle/inclusion/1/random-root.json') as InclusionProbe;
    try {
      verifyInclusion(fromBase64(v.leafHash), v.leafIdx, v.treeSize, proofOf(v.proof), fromBase64(v.root));
      expect.unreachable();
    } catch (e) {
      expect(isBackchannelError(e, 'root_mismatch_proof')).toBe(true);
      const details = (e as { details: Record<string, unknown> }).details;
      expect(details.expected).toBe(Buffer.from(v.root, 'base64').toString('hex'));
      expect(details.calculated).toMatch(/^[0-9a-f]{64}$/);
      expect(details.calculated).not.toBe(details.expected);
    }
  });
});
