/**
 * The submission hot path's verification pool and fast readers (issue 9): they must give
 * exactly the answers of the core functions they stand in for, keep a bad signature from
 * spoiling the others of its batch, and survive a worker that dies.
 */
import {
  Ed25519Key,
  LABELS,
  RECORD_TYPES,
  commitLeaf,
  decodeCbor,
  encodeCbor,
  isBackchannelError,
  openSubmissionToken,
  openVerifiedSubmissionToken,
  readSubmissionTokenWrapper,
  parseEnvelope,
  signStructure,
  verify,
  type CborMap,
  type LeafOpening,
  type SealedEnvelope,
} from '@backchannel/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeSubmitResponse, readSubmitBody } from '../../src/app/cbor-body.js';
import { Ed25519Pool, type VerifyJob, type VerifyResult } from '../../src/verify/ed25519-pool.js';
import { stationSignatureJob } from '../../src/verify/submission-checks.js';
import { backends } from '../helpers/databases.js';
import { inProcessRelay, type InProcessRelay } from '../helpers/in-process.js';
import { decode, makeWorld, seal, submitBody, token, type World } from '../helpers/world.js';

const L = (1n << 252n) + 27742317777372353535851937790883648493n;

/** The answer core's verify gives for a job (key_invalid where it throws). */
function coreAnswer(j: VerifyJob): VerifyResult {
  const msg = new Uint8Array(j.parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of j.parts) {
    msg.set(p, at);
    at += p.length;
  }
  try {
    return verify(j.pub, j.label, msg, j.sig) ? 'valid' : 'invalid';
  } catch (e) {
    if (isBackchannelError(e) && e.code === 'key_invalid') return 'key_invalid';
    throw e;
  }
}

/** S + L: the same signature with a non-canonical S, which the strict rule refuses. */
function withLargeS(sig: Uint8Array): Uint8Array {
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i]!);
  s += L;
  const out = Uint8Array.from(sig);
  for (let i = 32; i < 64; i++) {
    out[i] = Number(s & 0xffn);
    s >>= 8n;
  }
  return out;
}

function jobsOfEveryKind(): VerifyJob[] {
  const key = Ed25519Key.generate();
  const other = Ed25519Key.generate();
  const msg = new Uint8Array(300).fill(7);
  const sig = key.sign(LABELS.envelope, msg);
  const flipped = Uint8Array.from(sig);
  flipped[10]! ^= 1;
  const smallOrder = new Uint8Array(32);
  smallOrder[0] = 1;
  const nonCanonical = new Uint8Array(32).fill(0xff);
  nonCanonical[31] = 0x7f;
  const part = (m: Uint8Array, cut: number): Uint8Array[] => [m.subarray(0, cut), m.subarray(cut)];
  return [
    { pub: key.publicKey, sig, label: LABELS.envelope, parts: [msg] },
    { pub: key.publicKey, sig, label: LABELS.envelope, parts: part(msg, 100) },
    { pub: key.publicKey, sig: flipped, label: LABELS.envelope, parts: [msg] },
    { pub: other.publicKey, sig, label: LABELS.envelope, parts: [msg] },
    { pub: key.publicKey, sig, label: LABELS.submit, parts: [msg] },
    { pub: key.publicKey, sig: withLargeS(sig), label: LABELS.envelope, parts: [msg] },
    { pub: smallOrder, sig, label: LABELS.envelope, parts: [msg] },
    { pub: nonCanonical, sig, label: LABELS.envelope, parts: [msg] },
    { pub: key.publicKey, sig, label: LABELS.envelope, parts: [msg.subarray(1)] },
  ];
}

describe('the Ed25519 verification pool', () => {
  const pool = new Ed25519Pool({ threads: 2 });
  afterAll(async () => {
    await pool.close();
  });

  it('answers as core verify does, for good, bad, non-canonical and small-order inputs', async () => {
    const jobs = jobsOfEveryKind();
    const want = jobs.map(coreAnswer);
    expect(want).toEqual(['valid', 'valid', 'invalid', 'invalid', 'invalid', 'invalid', 'key_invalid', 'key_invalid', 'invalid']);
    expect(await pool.verify(jobs)).toEqual(want);
    // The same on the main thread alone.
    const inline = new Ed25519Pool({ threads: 0 });
    expect(await inline.verify(jobs)).toEqual(want);
    await inline.close();
  });

  it('keeps every answer in its place across many concurrent batches', async () => {
    const jobs = jobsOfEveryKind();
    const want = jobs.map(coreAnswer);
    const runs = await Promise.all(Array.from({ length: 40 }, (_, i) => pool.verify([...jobs.slice(i % jobs.length), ...jobs.slice(0, i % jobs.length)])));
    runs.forEach((r, i) => {
      expect(r).toEqual([...want.slice(i % jobs.length), ...want.slice(0, i % jobs.length)]);
    });
  });

  it('settles calls in the order they were made, whichever finishes first', async () => {
    const jobs = jobsOfEveryKind();
    const order: number[] = [];
    // A long call, then short ones: the short ones land on the other worker and finish first.
    await Promise.all(
      [Array.from({ length: 40 }, () => jobs).flat(), jobs.slice(0, 1), jobs.slice(6, 7), []].map((j, i) =>
        pool.verify(j).then(() => {
          order.push(i);
        }),
      ),
    );
    expect(order).toEqual([0, 1, 2, 3]);
  });

  it('answers a call alone on the calling thread when idle, and never ahead of a call in flight', async () => {
    const jobs = jobsOfEveryKind();
    const want = jobs.map(coreAnswer);
    // Idle: answered before any message could come back from a worker (a macrotask away).
    let turned = false;
    setImmediate(() => {
      turned = true;
    });
    expect(await pool.verify(jobs, { inlineWhenIdle: true })).toEqual(want);
    expect(turned).toBe(false);
    // Busy: the call asking for inline still waits its turn behind the long one.
    const order: number[] = [];
    await Promise.all([
      pool.verify(Array.from({ length: 40 }, () => jobs).flat()).then(() => order.push(0)),
      pool.verify(jobs, { inlineWhenIdle: true }).then((r) => {
        expect(r).toEqual(want);
        order.push(1);
      }),
    ]);
    expect(order).toEqual([0, 1]);
  });

  it('survives a worker that dies, with jobs in flight, and keeps both threads', async () => {
    const jobs = jobsOfEveryKind();
    const want = jobs.map(coreAnswer);
    expect(await pool.verify(jobs)).toEqual(want);
    for (let round = 0; round < 3; round++) {
      pool.crashWorkerForTests();
      // Sent right after the crash order: part of it lands on the dying worker.
      const answers = await Promise.all(Array.from({ length: 8 }, () => pool.verify(jobs)));
      for (const a of answers) expect(a).toEqual(want);
    }
    expect(pool.threads).toBe(2);
    expect(await pool.verify(jobs)).toEqual(want);
  });
});

/** Openings of every shape a relay makes and then some: any party ids, precedences, times up to 2^53. */
const openingArb: fc.Arbitrary<LeafOpening> = fc.record({
  salt: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  type: fc.constantFrom(...RECORD_TYPES),
  from: fc.string({ maxLength: 40 }),
  to: fc.string({ maxLength: 40 }),
  prec: fc.integer({ min: 0, max: 3 }),
  time: fc.oneof(fc.integer({ min: 0, max: 2 ** 32 }), fc.maxSafeNat()),
  digest: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  ref: fc.uint8Array({ minLength: 32, maxLength: 32 }),
});

describe("the pool's log leaves", () => {
  const pool = new Ed25519Pool({ threads: 2 });
  afterAll(async () => {
    await pool.close();
  });

  it('are core commitLeaf byte for byte, on worker threads, inline, and without threads', async () => {
    const inline = new Ed25519Pool({ threads: 0 });
    await fc.assert(
      fc.asyncProperty(fc.array(openingArb, { minLength: 1, maxLength: 40 }), async (openings) => {
        const want = openings.map(commitLeaf);
        expect(await pool.leaves(openings)).toEqual(want);
        expect(await pool.leaves(openings, { inlineWhenIdle: true })).toEqual(want);
        expect(await inline.leaves(openings)).toEqual(want);
      }),
      { numRuns: 60 },
    );
    await inline.close();
  });

  it('travel beside verification jobs without mixing, and survive a worker that dies', async () => {
    const openings = fc.sample(openingArb, { numRuns: 30, seed: 9 });
    const leaves = openings.map(commitLeaf);
    const jobs = jobsOfEveryKind();
    const want = jobs.map(coreAnswer);
    for (let round = 0; round < 3; round++) {
      pool.crashWorkerForTests();
      const [a, b, c, d] = await Promise.all([pool.leaves(openings), pool.verify(jobs), pool.leaves(openings.slice(3)), pool.verify(jobs.slice(2))]);
      expect(a).toEqual(leaves);
      expect(b).toEqual(want);
      expect(c).toEqual(leaves.slice(3));
      expect(d).toEqual(want.slice(2));
    }
    expect(pool.threads).toBe(2);
  });

  it('refuse a salt that is not 32 bytes as commitLeaf does', async () => {
    const [o] = fc.sample(openingArb, { numRuns: 1, seed: 3 });
    await expect(pool.leaves([o!, { ...o!, salt: new Uint8Array(31) }])).rejects.toThrow(/32 bytes/);
  });
});

describe('submission readers match the core', () => {
  let w: World;
  let env: SealedEnvelope;
  beforeAll(async () => {
    w = await makeWorld();
    env = await seal(w.us, w.ir);
  });

  it("cuts the station signature's bytes from the envelope exactly as core re-encodes them", () => {
    const parsed = parseEnvelope(env.bytes);
    const job = stationSignatureJob(parsed);
    const cut = new Uint8Array(job.parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of job.parts) {
      cut.set(p, at);
      at += p.length;
    }
    const outer = decodeCbor(env.bytes) as CborMap;
    expect(cut).toEqual(encodeCbor({ h: outer.h!, k: outer.k!, c: outer.c! }));
    expect(coreAnswer(job)).toBe('valid');
  });

  /** What core's openSubmissionToken makes of `bytes`, and what the relay's two steps (core's wrapper, the pool's check, core's body) make of it. */
  function both(bytes: Uint8Array): [unknown, unknown] {
    const run = (f: () => unknown): unknown => {
      try {
        const t = f() as Record<string, unknown>;
        return { ok: t };
      } catch (e) {
        if (isBackchannelError(e)) return { code: e.code };
        throw e;
      }
    };
    return [
      run(() => openSubmissionToken(bytes)),
      run(() => {
        const wr = readSubmissionTokenWrapper(bytes);
        // The pool's answer stands in for openSigned's verification here.
        if (coreAnswer({ pub: wr.key, sig: wr.sig, label: LABELS.submit, parts: [wr.bodyBytes] }) !== 'valid') throw new (class extends Error {})();
        return openVerifiedSubmissionToken(wr);
      }),
    ];
  }

  it('reads tokens, valid and malformed-but-signed, as openSubmissionToken does', () => {
    const key = w.us.keys.station.key;
    const good = token(w.us, w.relay.origin, env);
    const [core, ours] = both(good);
    expect(ours).toEqual(core);
    expect(core).toHaveProperty('ok');
    const body = decodeCbor(openSubmissionToken(good).bytes) as CborMap;
    const inner = decodeCbor(body.b as Uint8Array) as CborMap;
    const variants: CborMap[] = [
      { ...inner, v: 2 },
      { ...inner, extra: 1 },
      { ...inner, party: 'US!' },
      { ...inner, commit: new Uint8Array(31) },
      { ...inner, nonce: 'text' },
      { ...inner, time: -5 },
      { ...inner, origin: 'x'.repeat(256) },
      (({ time: _t, ...rest }) => rest)(inner),
      { v: 1 },
    ];
    for (const v of variants) {
      const [c, o] = both(signStructure(key, LABELS.submit, v));
      expect(o).toEqual(c);
      expect(c).toEqual({ code: 'token_invalid' });
    }
    // Malformed wrappers: not CBOR, a bad key, a missing signature.
    for (const bad of [
      new Uint8Array([0xa1]),
      encodeCbor({ b: new Uint8Array(3), k: new Uint8Array(32), s: new Uint8Array(64) }),
      encodeCbor({ b: new Uint8Array(3), k: key.publicKey }),
    ]) {
      const [c, o] = both(bad);
      expect(o).toEqual(c);
    }
  });

  it('reads a submission body in place exactly when the general decoder gives that body', () => {
    const good = new Uint8Array(submitBody(env, token(w.us, w.relay.origin, env)));
    const fast = readSubmitBody(good);
    expect(fast).toEqual(decodeCbor(good));
    fc.assert(
      fc.property(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 }), fc.boolean(), (at, x, cut) => {
        const m = cut ? good.subarray(0, at) : Uint8Array.from(good);
        if (!cut) m[at]! ^= x;
        const r = readSubmitBody(m);
        if (r === undefined) return;
        expect(r).toEqual(decodeCbor(m));
      }),
      { numRuns: 150 },
    );
    // Non-shortest length heads are not canonical: never read in place.
    const small = encodeCbor({ envelope: new Uint8Array(3), token: new Uint8Array(2) });
    expect(readSubmitBody(small)).toEqual(decodeCbor(small));
    const longHead = Uint8Array.from([...small.subarray(0, 7), 0x58, 0x02, ...small.subarray(8)]);
    expect(readSubmitBody(longHead)).toBeUndefined();
  });
});

describe('the submit answer', () => {
  it('is written byte for byte as encodeCbor writes it', () => {
    fc.assert(
      fc.property(fc.oneof(fc.nat(30), fc.nat(70_000), fc.nat(), fc.maxSafeNat()), fc.string({ maxLength: 70_000, unit: 'grapheme' }), fc.boolean(), (index, receipt, duplicate) => {
        expect(new Uint8Array(encodeSubmitResponse(index, receipt, duplicate))).toEqual(encodeCbor({ index, receipt, duplicate }));
      }),
      { numRuns: 200 },
    );
  });
});

describe.each(backends().flatMap((backend) => [{ backend, strict: true }, { backend, strict: false }]))('a batch with one bad signature on $backend (envelope signature checked: $strict)', ({ backend, strict }) => {
  let w: World;
  let r: InProcessRelay;
  beforeAll(async () => {
    w = await makeWorld();
    r = await inProcessRelay(w, backend, { verifyEnvelopeSignature: strict });
  });
  afterAll(async () => {
    await r.close();
  });

  it('refuses the bad ones with their own codes and accepts the others of the same batch', async () => {
    const envs = await Promise.all(Array.from({ length: 12 }, () => seal(w.us, w.ir)));
    const bodies = envs.map((e) => submitBody(e, token(w.us, w.relay.origin, e)));
    // #3: one byte of the ciphertext changed, token re-signed over the changed bytes: the
    // station's own word for these bytes, refused only by a relay that checks the envelope too.
    const flipped = Uint8Array.from(envs[3]!.bytes);
    flipped[flipped.length - 100]! ^= 1;
    bodies[3] = submitBody(flipped, token(w.us, w.relay.origin, { ...envs[3]!, bytes: flipped, digest: parseEnvelope(flipped).digest }));
    // #7: a token by another key than the station's.
    bodies[7] = submitBody(envs[7]!, token(w.us, w.relay.origin, envs[7]!, { station: Ed25519Key.generate() }));
    const res = await Promise.all(bodies.map((payload) => r.relay.app.inject({ method: 'POST', url: '/v1/submit', headers: { 'content-type': 'application/cbor' }, payload })));
    const codes = res.map((x) => (x.statusCode === 200 ? 200 : (x.json<{ error: { code: string } }>().error.code)));
    expect(codes).toEqual([200, 200, 200, strict ? 'signature_invalid' : 200, 200, 200, 200, 'token_invalid', 200, 200, 200, 200]);
    const accepted = strict ? 10 : 11;
    const indices = res.filter((x) => x.statusCode === 200).map((x) => decode(x.rawPayload).index as number);
    expect(new Set(indices).size).toBe(accepted);
    expect(r.relay.ctx.log.size).toBe(accepted);
  });
});
