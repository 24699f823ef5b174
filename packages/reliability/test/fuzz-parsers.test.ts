/**
 * Fuzzing every parser that reads outside input (issue 8, scenario 5), two ways:
 *
 *  - coverage-guided (src/fuzz/campaign.ts on V8 block coverage): a short campaign per target
 *    in `npm test`, a long one with BACKCHANNEL_LONG=1 (and `tools/fuzz.ts` for any length);
 *  - property-based (fast-check): arbitrary bytes and mutated vectors for every target, valid
 *    inputs accepted and round-tripped, and the CLI's input files (card files, body text).
 *
 * Every input must be accepted or refused with a typed error (BackchannelError, RelayError or
 * StationError with a known code); anything else fails with the input, to become a vector.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeContent, encodeContent, parsePartyCard, parseRelayCard, partyCardJson, type NoteContent } from '@backchannel/core';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { runCampaign, type CampaignResult } from '../src/fuzz/campaign.js';
import { makeRng, mutate } from '../src/fuzz/mutate.js';
import { loadTargets, type FuzzTarget } from '../src/fuzz/targets.js';
import { describeThrown, isTypedRejection } from '../src/fuzz/typed.js';

const LONG = process.env.BACKCHANNEL_LONG === '1';
const SECONDS = LONG ? 20 : 0.5;
const RUNS = LONG ? 5000 : 200;
const targets = loadTargets();

/** Accepted, or refused with a typed error; the failure message carries the input. */
function acceptOrTyped(t: FuzzTarget, input: Uint8Array): boolean {
  try {
    t.run(input);
    return true;
  } catch (e) {
    if (!isTypedRejection(e)) throw new Error(`${t.name}: untyped ${describeThrown(e)} on input ${Buffer.from(input).toString('hex')}`, { cause: e });
    return false;
  }
}

describe('coverage-guided campaigns', () => {
  const results: CampaignResult[] = [];
  afterAll(() => {
    process.stdout.write(`coverage-guided fuzzing (${String(SECONDS)} s per target):\n${results.map((r) => `  ${r.target}: ${String(r.cases)} cases, corpus ${String(r.corpus)}, ${String(r.blocks)} blocks`).join('\n')}\n`);
  });

  for (const t of targets) {
    it(`${t.name}: no crash, no hang, every refusal typed`, async () => {
      const r = await runCampaign(t, { seconds: SECONDS, seed: 8 });
      results.push(r);
      expect(r.findings, JSON.stringify(r.findings.slice(0, 3))).toEqual([]);
      expect(r.cases).toBeGreaterThan(t.seeds.length);
      // The campaign saw the target's code run: coverage reached its sources.
      expect(r.blocks).toBeGreaterThan(0);
    }, 30_000 + SECONDS * 2000);
  }
});

describe('property-based, every target', () => {
  for (const t of targets) {
    it(`${t.name}: arbitrary and mutated inputs are accepted or refused with a typed error`, () => {
      const rng = makeRng(3);
      fc.assert(
        fc.property(fc.oneof(fc.uint8Array({ maxLength: 512 }), fc.nat({ max: t.seeds.length - 1 }).map((i) => mutate(rng, t.seeds[i]!, t.seeds[0]))), (input) => {
          acceptOrTyped(t, input);
        }),
        { numRuns: RUNS },
      );
    });
  }

  it('every valid vector is accepted (the fuzzers start from inputs that get all the way through)', () => {
    const validSeeds: Record<string, number> = { envelope: 14, 'party-card': 2, 'relay-card': 1, bundle: 2, receipt: 1, checkpoint: 1, cosignature: 1, token: 1, request: 1, 'copy-ack': 1, 'delivery-record': 1, statement: 1, cbor: 4, content: 14 };
    for (const t of targets) {
      const n = validSeeds[t.name];
      if (n === undefined) continue;
      for (const s of t.seeds.slice(0, n)) expect(acceptOrTyped(t, s), `${t.name} seed`).toBe(true);
    }
  });
});

describe('CLI input files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bc-fuzz-files-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const party = targets.find((t) => t.name === 'party-card')!;
  const relay = targets.find((t) => t.name === 'relay-card')!;

  it('a card file read back from disk round-trips: parse, re-serialise, parse gives the same card', () => {
    const text = Buffer.from(party.seeds[0]!).toString('utf8');
    const file = join(dir, 'card.json');
    writeFileSync(file, text);
    const card = parsePartyCard(readFileSync(file, 'utf8'));
    const again = parsePartyCard(JSON.stringify(partyCardJson(card.signed)));
    expect(again.fingerprint).toBe(card.fingerprint);
    expect(Buffer.from(again.signed.bytes).equals(Buffer.from(card.signed.bytes))).toBe(true);
    const rc = parseRelayCard(Buffer.from(relay.seeds[0]!).toString('utf8'));
    expect(parseRelayCard(JSON.stringify(JSON.parse(Buffer.from(relay.seeds[0]!).toString('utf8')))).fingerprint).toBe(rc.fingerprint);
  });

  it('card files with any JSON, or any bytes, are refused with a typed error', () => {
    fc.assert(
      fc.property(fc.oneof(fc.json({ maxDepth: 3 }).map((j) => Buffer.from(j)), fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)), fc.jsonValue().map((v) => Buffer.from(JSON.stringify({ kind: 'party', version: 1, ...(typeof v === 'object' && v !== null && !Array.isArray(v) ? v : { v }) })))), (bytes) => {
        expect(acceptOrTyped(party, bytes)).toBe(false);
        expect(acceptOrTyped(relay, bytes)).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it('a body of any Unicode text survives the note content round trip exactly', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 2000 }), fc.string({ unit: 'grapheme', maxLength: 120 }), (body, subject) => {
        const note: NoteContent = { kind: 'note', subject, body, category: 'political', thread: new Uint8Array(16) };
        let bytes: Uint8Array;
        try {
          bytes = encodeContent(note);
        } catch (e) {
          // A body the content schema refuses (lone surrogates, an over-long subject) is refused with a code.
          expect(isTypedRejection(e), describeThrown(e)).toBe(true);
          return;
        }
        const back = decodeContent(bytes) as NoteContent;
        expect(back.body).toBe(body);
        expect(back.subject).toBe(subject);
      }),
      { numRuns: RUNS },
    );
  });
});
