/** Envelope sealing and opening, signing and verification: a station's hot path. */
import { pathToFileURL } from 'node:url';
import { measure, type BenchOptions, type BenchRow } from './lib.js';
import { Ed25519Key, verify } from '../packages/core/src/ed25519.js';
import { LABELS } from '../packages/core/src/labels.js';
import { createParty } from '../packages/core/src/identity/party-keys.js';
import { encryptionKeyId, openEnvelope, parseEnvelope, sealEnvelope, verifyEnvelopeStation } from '../packages/core/src/envelope/envelope.js';
import { equalBytes } from '../packages/core/src/bytes.js';
import { deterministicRandomForTests } from '../packages/core/src/random.js';
import type { SuiteName } from '../packages/core/src/identity/bundle.js';
import { signSubmissionToken, openSubmissionToken } from '../packages/core/src/messages/submission-token.js';

export async function run(opts: BenchOptions): Promise<BenchRow[]> {
  const ms = opts.quick ? 150 : 400;
  const rows: BenchRow[] = [];
  const key = Ed25519Key.generate();
  const msg = new Uint8Array(64);
  const sig = key.sign(LABELS.envelope, msg);
  rows.push(await measure('signatures', 'Ed25519 sign (node:crypto, labelled)', () => key.sign(LABELS.envelope, msg), { ms }));
  rows.push(await measure('signatures', 'Ed25519 verify (strict rule, labelled)', () => verify(key.publicKey, LABELS.envelope, msg, sig), { ms }));
  const token = signSubmissionToken(key, { origin: 'relay.example/ch/00000000', party: 'us', digest: new Uint8Array(32), time: Date.now() });
  rows.push(await measure('signatures', 'submission token open + verify', () => openSubmissionToken(token), { ms }));

  for (const suite of ['x25519', 'xwing'] as SuiteName[]) {
    const now = Date.now();
    const random = deterministicRandomForTests(`bench-${suite}`);
    const suites: SuiteName[] = suite === 'xwing' ? ['x25519', 'xwing'] : ['x25519'];
    const us = await createParty({ id: 'us', name: 'United States', now, suites, random });
    const ir = await createParty({ id: 'ir', name: 'Iran', now, suites, random });
    const params = {
      from: 'us', to: 'ir', precedence: 'FLASH' as const, created: now, suite,
      content: { kind: 'note' as const, subject: 'Bench', body: 'x'.repeat(1500), category: 'political' as const, thread: new Uint8Array(16) },
      senderBundle: us.bundle, recipientBundle: ir.bundle, station: us.station.key,
      signer: { key: us.signers[0]!.key, certificate: us.signers[0]!.certificate },
    };
    const sealed = await sealEnvelope(params);
    const ctx = {
      self: 'ir',
      privateKeyFor: (kid: Uint8Array) => ir.encryption.find((e) => equalBytes(encryptionKeyId(e.pub), kid))?.priv,
      senderBundle: us.bundle,
      judgedAt: now,
    };
    rows.push(await measure('envelope', `seal + sign, ${suite}, ${sealed.bytes.length} B`, () => sealEnvelope(params), { ms }));
    rows.push(await measure('envelope', `verify + open, ${suite}`, () => openEnvelope(sealed.bytes, ctx), { ms }));
    rows.push(await measure('envelope', `relay-side parse + station verify, ${suite}`, () => { verifyEnvelopeStation(parseEnvelope(sealed.bytes), us.bundle.bundle, now); }, { ms }));
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const r of await run({ quick: process.argv.includes('--quick') })) console.log(`${r.group} | ${r.name} | ${Math.round(r.opsPerSec)}/s | ${r.usPerOp.toFixed(2)} µs`);
}
