/**
 * C2SP note formats: what a relay pays to sign a checkpoint per batch, and what a verifier pays
 * to open one, check a witness cosignature and check a tlog-proof receipt. Ed25519 dominates
 * each figure; the note framing and strict parsing should be a small fraction on top.
 *
 * Run alone with `npx tsx bench/note.bench.ts [--quick]`.
 */
import { pathToFileURL } from 'node:url';
import { utf8 } from '../packages/core/src/bytes.js';
import { Ed25519Key, verifyRaw } from '../packages/core/src/ed25519.js';
import { hashChildren, hashLeaf } from '../packages/core/src/merkle/hasher.js';
import { openCheckpoint, signCheckpoint } from '../packages/core/src/note/checkpoint.js';
import { cosignCheckpoint, verifyCosignature } from '../packages/core/src/note/cosignature.js';
import { formatTlogProof, verifyTlogProof } from '../packages/core/src/note/tlog-proof.js';
import { SIGNATURE_TYPE_COSIGNATURE_V1, deriveVkey } from '../packages/core/src/note/vkey.js';
import { measure, type BenchOptions, type BenchRow } from './lib.js';

export async function run(opts: BenchOptions): Promise<BenchRow[]> {
  const timing = opts.quick ? { ms: 100, rounds: 3 } : { ms: 300, rounds: 5 };
  const group = 'note';
  const origin = 'example.com/bench-log';
  const logKey = Ed25519Key.fromSeed(new Uint8Array(32).fill(1));
  const logVkey = deriveVkey(logKey, origin);
  const witnessKey = Ed25519Key.fromSeed(new Uint8Array(32).fill(2));
  const witnessVkey = deriveVkey(witnessKey, 'example.org/bench-witness', SIGNATURE_TYPE_COSIGNATURE_V1);

  // A two-leaf tree, so the receipt carries a one-hash inclusion path.
  const leaves = [new Uint8Array(32).fill(3), new Uint8Array(32).fill(4)];
  const [h0, h1] = leaves.map(hashLeaf) as [Uint8Array, Uint8Array];
  const root = hashChildren(h0, h1);
  let size = 1_000_000;

  const note = signCheckpoint(logKey, origin, 2, root);
  const { checkpoint, note: opened } = openCheckpoint(note, logVkey);
  const text = opened.text;
  const cosignature = cosignCheckpoint(witnessKey, witnessVkey.name, text, 1_700_000_000);
  const receipt = formatTlogProof({ index: 0, proof: [h1], checkpoint: `${note}${cosignature}` });
  // Verified checkpoint notes are remembered (core note/checkpoint-cache.ts, 64 of them): 128
  // receipts whose notes differ (the cosignature's time) cycle past it, so each verify is a miss.
  const coldReceipts = Array.from({ length: 128 }, (_, i) =>
    formatTlogProof({ index: 0, proof: [h1], checkpoint: `${note}${cosignCheckpoint(witnessKey, witnessVkey.name, text, 1_700_000_001 + i)}` }),
  );
  let cold = 0;
  if (checkpoint.size !== 2) throw new Error('bench setup: checkpoint did not round-trip');

  // The bare primitive over the same bytes, so the cost of the note layer can be read off.
  const textBytes = utf8(text);
  const rawSig = logKey.signRaw(textBytes);

  return [
    await measure(group, 'Ed25519 sign (reference)', () => logKey.signRaw(textBytes), timing),
    await measure(group, 'Ed25519 verify (reference)', () => verifyRaw(logKey.publicKey, textBytes, rawSig), timing),
    await measure(group, 'checkpoint sign', () => signCheckpoint(logKey, origin, size++, root), {
      ...timing,
      note: 'format body + Ed25519 sign + note framing',
    }),
    await measure(group, 'checkpoint open (verify + parse)', () => openCheckpoint(note, logVkey), {
      ...timing,
      note: 'note framing + Ed25519 verify + strict body parse',
    }),
    await measure(group, 'cosignature verify', () => verifyCosignature(witnessVkey, text, cosignature), {
      ...timing,
      note: 'cosignature/v1, Ed25519',
    }),
    await measure(group, 'cosignature sign', () => cosignCheckpoint(witnessKey, witnessVkey.name, text, 1_700_000_000), timing),
    await measure(group, 'tlog-proof receipt verify', () => verifyTlogProof(coldReceipts[cold++ % coldReceipts.length]!, logVkey, leaves[0]!), {
      ...timing,
      note: 'parse + open checkpoint + inclusion (size 2), checkpoint not seen before',
    }),
    await measure(group, 'tlog-proof receipt verify, checkpoint already verified', () => verifyTlogProof(receipt, logVkey, leaves[0]!), {
      ...timing,
      note: 'parse + inclusion; the note was verified before (a sync page under one checkpoint)',
    }),
  ];
}

function printTable(rows: readonly BenchRow[]): void {
  const header = ['group', 'name', 'ops/s', 'µs/op', 'note'];
  const body = rows.map((r) => [r.group, r.name, Math.round(r.opsPerSec).toLocaleString('en-US'), r.usPerOp.toFixed(1), r.note ?? '']);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log([line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n'));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  printTable(await run({ quick: process.argv.includes('--quick') }));
}
